"""The `hotfix-bot` command line."""
