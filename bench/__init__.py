"""The benchmark of issue 5: ack and follow-up latency against a floor, SQL statements per request
at two catalog sizes, and the server's peak memory. Run it with ``python -m bench``.
"""
