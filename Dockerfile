# Eventide image: one binary, every role; which roles a container runs comes from its config
# file (see docker-compose.yml and config/*.ini).
#
#   docker build -t eventide .
#   docker run --rm eventide ask "What is 2+2?"            # embedded log, offline providers

# --- build stage: the same scripts a developer runs ----------------------------------------------
FROM debian:bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not reinstall them.
COPY scripts/bootstrap.sh scripts/bootstrap.sh
RUN bash scripts/bootstrap.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# Configure without tests and benchmarks (an image needs only the binary); build.sh then sees
# the configured tree and just builds it.
RUN rm -rf build \
 && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEVENTIDE_TESTS=OFF -DEVENTIDE_BENCH=OFF \
 && EVENTIDE_JOBS="$(nproc)" bash scripts/build.sh \
 && strip build/apps/eventide

# --- runtime stage: the binary, its shared libraries and its data ---------------------------------
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates libcaf-core0.17 librdkafka1 librocksdb7.8 libcurl4 libtcmalloc-minimal4 \
      libboost-log1.74.0 libboost-thread1.74.0 libboost-filesystem1.74.0 \
      libboost-program-options1.74.0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/apps/eventide /usr/local/bin/eventide
# Fail the image build, not the first container, if a shared library is missing.
RUN ! ldd /usr/local/bin/eventide | grep "not found" && eventide help >/dev/null

ENV EVENTIDE_HOME=/opt/eventide
WORKDIR /opt/eventide
COPY products/ products/
COPY config/ config/
COPY prompts/ prompts/
COPY schemas/ schemas/
# Relative data-dir values in config/*.ini ("data/router", ...) land in /opt/eventide/data;
# compose mounts a volume there. It belongs to an unprivileged user.
RUN useradd --system --home-dir /opt/eventide --shell /usr/sbin/nologin eventide \
 && mkdir -p data && chown eventide:eventide data
USER eventide
ENV EVENTIDE_DATA=/opt/eventide/data/default
ENTRYPOINT ["eventide"]
CMD ["help"]
