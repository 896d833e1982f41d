"""`python -m chaos`: replicas killed at random while people work; see chaos/run.py."""
