# udp-cluster image: one image for every daemon. No fixed entrypoint: the command names the binary,
# e.g. `bin/run-dispatcher -c config/docker/dispatcher.json` (see docker-compose.yml).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
# npm ci runs the `prepare` script, which builds dist/ with tsc.
RUN npm ci --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config
COPY deploy ./deploy
# The journal's directory (journal.path in config/docker/dispatcher.json), owned by the daemon's
# user; compose and Kubernetes mount a volume here so it outlives the container.
RUN mkdir -p /var/lib/udp-cluster && chown node:node /var/lib/udp-cluster
VOLUME ["/var/lib/udp-cluster"]
# The official image's unprivileged user (uid 1000).
USER node
# The daemons log pino JSON lines to stderr when it is not a terminal (always the case here).
CMD ["bin/run-cluster"]
