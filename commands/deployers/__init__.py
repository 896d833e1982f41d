"""Deployers: the port the service layer deploys through, and its adapters."""
