FROM denoland/deno:2.9.6

WORKDIR /app

# Root owns the image's files; only /data, the service's own state, belongs to deno.
RUN mkdir /data && chown deno:deno /data

USER deno

# Dependencies first, in their own layer: it is rebuilt only when deno.json or deno.lock change.
COPY deno.json deno.lock ./
RUN deno install --frozen

# .dockerignore keeps this to the sources the service runs: main.ts, src/, migrations/.
COPY . .
RUN deno cache --frozen main.ts

ENV HOST=0.0.0.0 \
    PORT=8000 \
    CHRONOLOG_DATA_DIR=/data
VOLUME /data
EXPOSE 8000

# The image has no curl; deno itself asks /health, on whatever PORT the container was given.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT') ?? 8000}/health`); Deno.exit(r.ok ? 0 : 1);"]

# The permissions of `deno task start`; --cached-only: nothing is downloaded at run time.
CMD ["deno", "run", "--cached-only", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", "main.ts"]
