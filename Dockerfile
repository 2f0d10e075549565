# costroute gateway image: serves `costroute serve` on port 8000 as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    COSTROUTE_DATA_DIR=/var/lib/costroute TIKTOKEN_CACHE_DIR=/var/lib/costroute/tiktoken

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY gateway ./gateway
COPY routers ./routers
COPY pricing ./pricing
COPY eval ./eval

# CPU-only torch first: the default index would pull a multi-GB CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
 && pip install -c constraints.txt ".[ml,otel]" \
 && useradd --system --uid 10001 --home /var/lib/costroute costroute \
 && mkdir -p /var/lib/costroute && chown costroute /var/lib/costroute

USER costroute
# The static encoder the shipped `auto` artifact decides with first (routers.knn.hybrid),
# distilled from the packaged MiniLM into the user's cache (a few minutes, once per image).
RUN python -m routers.static_distill
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
ENTRYPOINT ["costroute", "serve", "--host", "0.0.0.0", "--port", "8000"]
