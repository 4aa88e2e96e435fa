# The manager image for `make deploy`. Build with `make docker-build IMG=...`.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
# The build's identity (`make docker-build` passes both; the image has no .git).
ARG VERSION=devel
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X github.com/liftoff-dev/liftoff/internal/version.version=${VERSION} -X github.com/liftoff-dev/liftoff/internal/version.commit=${COMMIT}" -o /manager ./cmd/manager

FROM gcr.io/distroless/static:nonroot
COPY --from=build /manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
