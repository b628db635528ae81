# One image for every service. `elastic-serving up` (the default command) runs the embedded platform in one
# container; `elastic-serving controller|ingress|router|sources|functions` runs one service, as docker-compose.yml
# does on NATS, Kafka and Redis. Every listener binds all interfaces inside the container (ES_HOST), so the control
# API needs a token: pass ES_TOKEN.
FROM node:20-bookworm-slim

WORKDIR /app
# onnxruntime-node ships its CPU build in the package; skip its optional GPU download.
ENV NODE_ENV=production \
    ONNXRUNTIME_NODE_INSTALL=skip \
    ES_HOST=0.0.0.0 \
    ES_STATE_DIR=/data

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY . .

# Resources, transpiled handlers and replica logs live in /data; nothing else is written, so /app stays root's.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]

# 8080 ingress, 8081 function gateway, 8090 control API; 8082-8084 health and metrics of router, sources, functions;
# 8085 StorageSource notification webhooks.
EXPOSE 8080 8081 8082 8083 8084 8085 8090

# The control API's /healthz by default (`up`, `controller`); each other service points ES_HEALTH_URL at its own.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.ES_HEALTH_URL || 'http://127.0.0.1:8090/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["node", "bin/elastic-serving.mjs"]
CMD ["up"]
