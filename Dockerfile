# hotfix-bot image: `docker build -t hotfix-bot .`, then `docker run --env-file .env -p 3000:3000
# hotfix-bot` (serve) or `docker run --env-file .env hotfix-bot db upgrade`.
# Same base in both stages, so the virtual environment's interpreter path holds in the final one.

FROM python:3.11-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY . .
# The one install recipe, shared with CI (scripts/check-image-recipe.sh): the lock, hash-checked,
# wheels only, then the project without dependencies.
RUN sh scripts/install-runtime.sh /opt/hotfix-bot /src \
    && install -m 0644 scripts/healthcheck.py /opt/hotfix-bot/healthcheck.py

FROM python:3.11-slim-bookworm
# Only the virtual environment comes over: no sources, no build environment, no pip cache.
RUN groupadd --system --gid 10001 hotfix \
    && useradd --system --uid 10001 --gid hotfix --create-home --home-dir /home/hotfix \
       --shell /usr/sbin/nologin hotfix
COPY --from=builder /opt/hotfix-bot /opt/hotfix-bot
ENV PATH=/opt/hotfix-bot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=3000
USER 10001:10001
WORKDIR /home/hotfix
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/opt/hotfix-bot/healthcheck.py"]
ENTRYPOINT ["hotfix-bot"]
CMD ["serve"]
