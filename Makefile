# Liftoff. `make dev` runs the playground, `make test` runs every test.
# Tools are built from the Go module proxy into $(CACHE), once per version.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/liftoff
export GOTOOLCHAIN ?= local

CONTROLLER_TOOLS_VERSION ?= v0.23.0
CONTROLLER_GEN ?= $(CACHE)/bin/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT ?= $(CACHE)/bin/golangci-lint-$(GOLANGCI_LINT_VERSION)
IMG ?= ghcr.io/liftoff-dev/liftoff:dev
# The build's identity, linked into both binaries (`manager --version`,
# `kubectl liftoff version`, the liftoff_build_info metric).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS ?= -X github.com/liftoff-dev/liftoff/internal/version.version=$(VERSION) -X github.com/liftoff-dev/liftoff/internal/version.commit=$(COMMIT)
# Test parallelism sized for a 2-core machine.
TEST_P ?= 2

.PHONY: all
all: build

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths="./api/..."

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from the Go types and markers, and copy them into charts/liftoff.
	$(CONTROLLER_GEN) rbac:roleName=liftoff-manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases
	hack/sync-chart.sh

.PHONY: fmt
fmt: ## Fail when gofmt would change a file.
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	  if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## golangci-lint with the checks of .golangci.yml.
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...

.PHONY: verify-generated
verify-generated: generate manifests ## Fail when generated files differ from the checkout.
	@git diff --exit-code -- api config charts && test -z "$$(git status --porcelain -- charts)" || { echo "generated files are stale: run 'make generate manifests' and commit"; exit 1; }

.PHONY: envtest
envtest: ## Build kube-apiserver and etcd (cached) and print their directory.
	@hack/build-control-plane.sh

.PHONY: test
test: fmt vet verify-generated ## Run the fast tier, the linter, then every test against a real kube-apiserver, etcd and Prometheus; the dashboard's in headless Chromium; the chart with helm.
	go test -short -p $(TEST_P) -count=1 -timeout 5m ./...
	$(MAKE) --no-print-directory lint
	KUBEBUILDER_ASSETS="$$(hack/build-control-plane.sh)" LIFTOFF_PROMETHEUS="$$(hack/build-prometheus.sh)" LIFTOFF_AGENT_CRDS="$$(hack/fetch-agent-crds.sh)" LIFTOFF_AXE="$$(hack/browser-tools.sh)" LIFTOFF_HELM="$$(hack/build-helm.sh)" go test -p $(TEST_P) -count=1 -timeout 40m ./...

.PHONY: test-short
test-short: ## The fast tier alone: every test that needs no control plane or Prometheus, in seconds.
	go test -short -p $(TEST_P) -count=1 -timeout 5m ./...

.PHONY: bench
bench: ## Benchmark the controller (a separate process) against a real control plane and the GitHub simulator; BENCH_ARGS="-h" lists the flags.
	KUBEBUILDER_ASSETS="$$(hack/build-control-plane.sh)" go run ./test/bench $(BENCH_ARGS)

.PHONY: dev
dev: ## Start the playground: control plane (with Argo CD's and Flux's CRDs), GitHub simulator, Prometheus, controller, dashboard, samples; DEV_ARGS=-github-app authenticates as a GitHub App.
	@# Prometheus builds in the background (at the lowest priority) while the control
	@# plane builds and the playground promotes; only verification waits for it.
	mkdir -p $(CACHE) && (nice -n 19 hack/build-prometheus.sh >$(CACHE)/prometheus-build.log 2>&1 &)
	KUBEBUILDER_ASSETS="$$(hack/build-control-plane.sh)" LIFTOFF_AGENT_CRDS="$$(hack/fetch-agent-crds.sh)" LIFTOFF_AXE="$$(hack/browser-tools.sh)" go run ./hack/dev $(DEV_ARGS)

##@ Build

.PHONY: build
build: ## Build the manager and the kubectl plugin.
	go build -ldflags "$(LDFLAGS)" -o bin/manager ./cmd/manager
	go build -ldflags "$(LDFLAGS)" -o bin/kubectl-liftoff ./cmd/kubectl-liftoff

.PHONY: docker-build
docker-build: ## Build the manager image $(IMG) (needs a container engine).
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMG) .

.PHONY: run
run: ## Run the manager against the current kubeconfig.
	go run -ldflags "$(LDFLAGS)" ./cmd/manager

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster of the current kubeconfig.
	kubectl apply -k config/crd

.PHONY: uninstall
uninstall: ## Remove the CRDs.
	kubectl delete -k config/crd --ignore-not-found

.PHONY: deploy
deploy: manifests ## Deploy the controller (image $(IMG)) into the current cluster.
	cd config/manager && kubectl kustomize . >/dev/null && sed -i.bak -E "s#newName: .*#newName: $(firstword $(subst :, ,$(IMG)))#; s#newTag: .*#newTag: $(lastword $(subst :, ,$(IMG)))#" kustomization.yaml && rm -f kustomization.yaml.bak
	kubectl apply -k config/default

.PHONY: undeploy
undeploy: ## Remove the controller.
	kubectl delete -k config/default --ignore-not-found

$(GOLANGCI_LINT):
	mkdir -p $(CACHE)/bin
	GOFLAGS= GOBIN=$(CACHE)/bin/.golangci-lint go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(CACHE)/bin/.golangci-lint/golangci-lint $@

$(CONTROLLER_GEN):
	mkdir -p $(CACHE)/bin
	GOFLAGS= GOBIN=$(CACHE)/bin/.controller-gen go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(CACHE)/bin/.controller-gen/controller-gen $@
