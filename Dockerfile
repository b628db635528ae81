# One image for every service: `elastic-serving up` runs the embedded platform; later issues add one command per
# service (`elastic-serving <service>`) for separate deployments.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
EXPOSE 8080 8081 8090
ENTRYPOINT ["node", "bin/elastic-serving.mjs"]
# Beyond loopback the control API needs a token: set ES_TOKEN.
CMD ["up", "--host", "0.0.0.0"]
