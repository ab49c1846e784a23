# gradpool training jobs in a container:
#   docker build -t gradpool .
#   docker run --rm --init -v "$PWD/examples/jobs/mnist:/job" gradpool train /job/job.json
# --init (or tini) forwards SIGTERM/SIGINT to gradpool, which then checkpoints and exits 143/130.
#   docker run --rm --init -v "$PWD/out:/job" gradpool bench --quick --out /job/bench

# ---- build: install everything, compile TypeScript, then drop dev dependencies ----------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY bench ./bench
COPY examples ./examples
COPY test ./test
# The image is an application: tfjs and its wasm backend, peer dependencies of the library (and dev
# dependencies of the checkout), are its runtime dependencies, so they are kept when dev ones go.
RUN npx tsc -p tsconfig.json \
 && node -e "const f='package.json', p=require('./'+f); for (const k in p.peerDependencies) { p.dependencies[k] = p.peerDependencies[k]; delete p.devDependencies[k]; } require('fs').writeFileSync(f, JSON.stringify(p, null, 2))" \
 && npm prune --omit=dev && rm -rf dist/test \
 && node -e "require.resolve('@tensorflow/tfjs'); require.resolve('@tensorflow/tfjs-backend-wasm')"

# ---- runtime: only what a job needs -----------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/examples ./examples
RUN chmod +x dist/src/cli/main.js && ln -s /app/dist/src/cli/main.js /usr/local/bin/gradpool \
 && mkdir -p /job /app/bench/results && chown node:node /job /app/bench/results
USER node
VOLUME /job
ENTRYPOINT ["gradpool"]
CMD ["--help"]
