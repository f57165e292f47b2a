# Image for every service of the monorepo (apps/api, apps/conductor,
# apps/agent, apps/placement-sync); the default command starts the API, and
# docker-compose.yml picks the service with `command:`.
#   docker build -t cyborg-ts .
#   docker run --rm cyborg-ts node dist/apps/conductor/main.js

# ---- build: full dependency tree, swc into dist/ -------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json .swcrc ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build

# ---- runtime: production dependencies + dist/ only -----------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 6666
CMD ["node", "dist/apps/api/main.js"]
