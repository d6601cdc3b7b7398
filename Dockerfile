# imgslim's own image, built from source. Needs a Go image: by default the
# golang image (Docker Hub); `make image` builds the same shape from the
# local toolchain without it (see docs/ci.md).
#
#   docker build -t imgslim .
#   docker run --rm -v "$HOME/.docker:/home/nonroot/.docker:ro" imgslim -q SRC DST
#
# Offline: any image with Go 1.26, GOPROXY=off and a CA bundle at
# /etc/ssl/certs/ca-certificates.crt does, with the modules vendored into
# the context (`go mod vendor`) or in the image's module cache: go build
# then needs no network, as the end-to-end test TestDockerfile builds it:
#
#   docker build --network none --build-arg GO_IMAGE=my/golang:1.26 -t imgslim .

ARG GO_IMAGE=golang:1.26-bookworm
FROM ${GO_IMAGE} AS build
WORKDIR /src
# go.mod and go.sum first: the download is a layer of its own, kept while
# they stay. A Go image with GOPROXY=off downloads nothing.
COPY go.mod go.sum ./
RUN if [ "$(go env GOPROXY)" != off ]; then go mod download; fi
COPY . .
# Static: no libc in the final image. The version comes from the build
# info; .git is in the context when it is not ignored.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=auto -o /out/usr/bin/imgslim ./cmd/imgslim \
 && mkdir -p /out/etc/ssl/certs /out/home/nonroot /out/tmp \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /out/etc/group \
 && chown 65532:65532 /out/home/nonroot && chmod 700 /out/home/nonroot \
 && chmod 1777 /out/tmp

FROM scratch
COPY --from=build /out/ /
ENV PATH=/usr/bin HOME=/home/nonroot SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/bin/imgslim"]
