"""The Slack side: the Bolt app, its listeners and Block Kit views."""
