"""The service layer: one function per hotfix operation, no Slack types, no SQL."""
