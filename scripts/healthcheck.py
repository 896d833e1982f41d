"""Container health probe: exit 0 when GET /healthz on this container's PORT answers 200.

The image's HEALTHCHECK runs it with the image's own Python, since the slim base has no curl.
"""

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("PORT", "").strip() or "3000"
    url = f"http://127.0.0.1:{port}/healthz"
    # No proxy: an HTTP(S)_PROXY in the container's environment must not catch loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=4) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
