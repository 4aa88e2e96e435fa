package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	gh "github.com/google/go-github/v60/github"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// The raw baseline does, without a controller, what Liftoff did per
// promotion in the throughput phase: the same GitHub requests by operation
// (the same commit of the file through the contents API, the deployment and its statuses,
// the reads at the same rates) and as many API-server writes (status patches
// of the Release), for the same promotions, with the controller's
// parallelism. Its rate is what the machine allows; Liftoff's is measured
// against it.

type rawResult struct {
	Promotions          int     `json:"promotions"`
	Workers             int     `json:"workers"`
	WallSeconds         float64 `json:"wallSeconds"`
	PromotionsPerSecond float64 `json:"promotionsPerSecond"`
	// LiftoffRatio is Liftoff's promotions/s over the baseline's.
	LiftoffRatio               float64        `json:"liftoffRatio"`
	GitHubRequests             int            `json:"githubRequests"`
	GitHubRequestsPerPromotion float64        `json:"githubRequestsPerPromotion"`
	GitHubByOperation          map[string]int `json:"githubByOperation"`
	APIWrites                  int            `json:"apiWrites"`
	APIWritesPerPromotion      float64        `json:"apiWritesPerPromotion"`
	// NotReplayed are Liftoff's operations the baseline does not know how
	// to make, with their count in the throughput phase.
	NotReplayed map[string]int `json:"notReplayed,omitempty"`
}

// The commit itself: these operations are made by the commit loop (with its
// own retries on a moved branch), not replayed by count.
var commitOps = map[string]bool{
	"PUT /repos/{owner}/{repo}/contents/{path...}":  true,
	"GET /repos/{owner}/{repo}/git/ref/{ref...}":    true,
	"GET /repos/{owner}/{repo}/git/commits/{sha}":   true,
	"GET /repos/{owner}/{repo}/contents/{path...}":  true,
	"POST /repos/{owner}/{repo}/git/trees":          true,
	"POST /repos/{owner}/{repo}/git/commits":        true,
	"PATCH /repos/{owner}/{repo}/git/refs/{ref...}": true,
	"POST /graphql": true,
}

// rawPromotion is one promotion of the baseline.
type rawPromotion struct {
	a      app
	k      int
	stage  string
	sha    string // the release commit
	rel    *releasev1.Release
	deploy int64
	gh     *gh.Client
	writes *atomic.Int64
}

type rawOp func(ctx context.Context, p *rawPromotion) error

// rawReads are the other operations, by Liftoff's route patterns.
var rawReads = map[string]rawOp{
	"GET /repos/{owner}/{repo}/commits/{ref}/check-runs": func(ctx context.Context, p *rawPromotion) error {
		_, _, err := p.gh.Checks.ListCheckRunsForRef(ctx, "bench", repoName(p.a.source), p.sha, &gh.ListCheckRunsOptions{ListOptions: gh.ListOptions{PerPage: 100}})
		return err
	},
	"GET /repos/{owner}/{repo}/commits/{ref}/status": func(ctx context.Context, p *rawPromotion) error {
		_, _, err := p.gh.Repositories.GetCombinedStatus(ctx, "bench", repoName(p.a.source), p.sha, &gh.ListOptions{PerPage: 100})
		return err
	},
	"GET /repos/{owner}/{repo}/commits": func(ctx context.Context, p *rawPromotion) error {
		_, _, err := p.gh.Repositories.ListCommits(ctx, "bench", repoName(p.a.gitops), &gh.CommitsListOptions{SHA: "main", ListOptions: gh.ListOptions{PerPage: 100}})
		return err
	},
	"GET /repos/{owner}/{repo}/commits/{ref...}": func(ctx context.Context, p *rawPromotion) error {
		_, _, err := p.gh.Repositories.GetCommitSHA1(ctx, "bench", repoName(p.a.source), "v"+version(p.k), "")
		return err
	},
	"GET /repos/{owner}/{repo}/deployments": func(ctx context.Context, p *rawPromotion) error {
		_, _, err := p.gh.Repositories.ListDeployments(ctx, "bench", repoName(p.a.source), &gh.DeploymentsListOptions{SHA: p.sha, Environment: p.stage})
		return err
	},
}

func repoName(full string) string { return full[strings.IndexByte(full, '/')+1:] }

// rawSpec is where the baseline runs: its namespace and the prefix of its
// repositories, and prod's targets (as the measured phase had them).
type rawSpec struct {
	phase, ns, prefix string
	prod              prodTargets
}

func runRaw(ctx context.Context, w *world, o options, tp *throughputResult, spec rawSpec) (*rawResult, error) {
	total := tp.Promotions
	progress("%s: %d promotions without a controller, %d workers", spec.phase, total, o.concurrency)
	ends, err := spec.prod.waveEnds()
	if err != nil {
		return nil, err
	}
	const (
		deployOp = "POST /repos/{owner}/{repo}/deployments"
		statusOp = "POST /repos/{owner}/{repo}/deployments/{id}/statuses"
	)
	rates := map[string]float64{}
	res := &rawResult{Promotions: total, Workers: o.concurrency, NotReplayed: map[string]int{}}
	for op, n := range tp.GitHubByOperation {
		switch {
		case commitOps[op]:
		case op == deployOp || op == statusOp || rawReads[op] != nil:
			rates[op] = float64(n) / float64(total)
		default:
			res.NotReplayed[op] = n
		}
	}

	ns := spec.ns
	apps, err := w.setupApps(ctx, ns, spec.prefix, tp.Pipelines, nil, spec.prod)
	if err != nil {
		return nil, err
	}
	// The Releases whose status the baseline writes, created up front with
	// their release commits (tag, green QA): neither is counted.
	rels := make([][]*releasev1.Release, len(apps))
	shas := make([][]string, len(apps))
	for i, a := range apps {
		for k := 1; k <= tp.ReleasesPerPipeline; k++ {
			sha, err := w.tagRelease(a, k)
			if err != nil {
				return nil, err
			}
			w.sim.SetCheckRun(a.source, sha, "qa", "completed", "success")
			shas[i] = append(shas[i], sha)
			rels[i] = append(rels[i], a.release(k))
		}
	}
	if err := parallel(ctx, len(apps)*tp.ReleasesPerPipeline, 16, func(j int) error {
		return w.k8s.Create(ctx, rels[j/tp.ReleasesPerPipeline][j%tp.ReleasesPerPipeline])
	}); err != nil {
		return nil, err
	}

	ghc := gh.NewClient(&http.Client{Timeout: 30 * time.Second}).WithAuthToken(token)
	if ghc.BaseURL, err = url.Parse(w.sim.URL() + "/"); err != nil {
		return nil, err
	}
	writeRate := tp.APIWritesPerPromotion

	w.sim.ResetStats()
	var writes atomic.Int64
	// count tells how many times an operation of rate r runs in promotion p,
	// so that the totals match whatever the fractions.
	count := func(r float64, p int) int { return int(math.Floor(float64(p+1)*r) - math.Floor(float64(p)*r)) }
	start := time.Now()
	err = parallel(ctx, len(apps), o.concurrency, func(i int) error {
		a := apps[i]
		for k := 1; k <= tp.ReleasesPerPipeline; k++ {
			for s, stage := range stageNames {
				p := &rawPromotion{a: a, k: k, stage: stage, sha: shas[i][k-1], rel: rels[i][k-1], gh: ghc, writes: &writes}
				idx := (i*tp.ReleasesPerPipeline+k-1)*len(stageNames) + s
				n := count(writeRate, idx)
				for _, op := range sortedKeys(rates) {
					if read := rawReads[op]; read != nil {
						for range count(rates[op], idx) {
							if err := read(ctx, p); err != nil {
								return fmt.Errorf("%s: %w", op, err)
							}
						}
					}
				}
				if n > 0 {
					if err := rawStatusWrite(ctx, w, p, "Promoting"); err != nil {
						return err
					}
					n--
				}
				if err := rawCommits(ctx, p, ends); err != nil {
					return err
				}
				for range count(rates[deployOp], idx) {
					d, _, err := ghc.Repositories.CreateDeployment(ctx, "bench", repoName(a.source), &gh.DeploymentRequest{
						Ref: gh.String(p.sha), Environment: gh.String(stage), AutoMerge: gh.Bool(false), RequiredContexts: &[]string{}})
					if err != nil {
						return fmt.Errorf("create deployment: %w", err)
					}
					p.deploy = d.GetID()
				}
				for range count(rates[statusOp], idx) {
					if _, _, err := ghc.Repositories.CreateDeploymentStatus(ctx, "bench", repoName(a.source), p.deploy,
						&gh.DeploymentStatusRequest{State: gh.String("success")}); err != nil {
						return fmt.Errorf("deployment status: %w", err)
					}
				}
				for ; n > 0; n-- {
					if err := rawStatusWrite(ctx, w, p, "Promoted"); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	wall := time.Since(start)
	st := w.sim.Requests()
	res.WallSeconds = wall.Seconds()
	res.PromotionsPerSecond = float64(total) / wall.Seconds()
	res.LiftoffRatio = tp.PromotionsPerSecond / res.PromotionsPerSecond
	res.GitHubRequests, res.GitHubByOperation = st.Counted, st.ByOperation
	res.GitHubRequestsPerPromotion = float64(st.Counted) / float64(total)
	res.APIWrites = int(writes.Load())
	res.APIWritesPerPromotion = float64(res.APIWrites) / float64(total)
	progress("%s: %d promotions in %s (%.1f/s); Liftoff reached %.0f%% of it", spec.phase, total, wall.Round(time.Millisecond), res.PromotionsPerSecond, 100*res.LiftoffRatio)
	return res, w.clean(ctx, ns)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var newTagLine = regexp.MustCompile(`newTag: "[^"]*"`)

// promotedFile reads path of the GitOps repository at ref and returns it
// and its content with the promotion's version in.
func promotedFile(ctx context.Context, p *rawPromotion, path, ref string) (*gh.RepositoryContent, string, error) {
	file, _, _, err := p.gh.Repositories.GetContents(ctx, "bench", repoName(p.a.gitops), path, &gh.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return nil, "", fmt.Errorf("get contents: %w", err)
	}
	content, err := file.GetContent()
	if err != nil {
		return nil, "", err
	}
	return file, newTagLine.ReplaceAllString(content, `newTag: "`+version(p.k)+`"`), nil
}

// rawCommits writes the promotion: its stage's file, or, for prod with
// targets, each wave's files in one commit (as Liftoff writes a wave), the
// waves one after another.
func rawCommits(ctx context.Context, p *rawPromotion, ends []int) error {
	paths := p.a.paths(p.stage)
	if len(paths) == 1 {
		return rawCommit(ctx, p)
	}
	from := 0
	for _, end := range ends {
		if err := rawCommitFiles(ctx, p, paths[from:end]); err != nil {
			return err
		}
		from = end
	}
	return nil
}

// rawCommitFiles writes the version into several files of the GitOps
// branch in one commit: read the head and the files, then one GraphQL
// createCommitOnBranch on top of that head, read again when the branch
// moved meanwhile.
func rawCommitFiles(ctx context.Context, p *rawPromotion, paths []string) error {
	c, repo := p.gh, repoName(p.a.gitops)
	for attempt := 0; ; attempt++ {
		ref, _, err := c.Git.GetRef(ctx, "bench", repo, "heads/main")
		if err != nil {
			return fmt.Errorf("get ref: %w", err)
		}
		head := ref.GetObject().GetSHA()
		var additions []map[string]string
		for _, path := range paths {
			_, content, err := promotedFile(ctx, p, path, head)
			if err != nil {
				return err
			}
			additions = append(additions, map[string]string{"path": path, "contents": base64.StdEncoding.EncodeToString([]byte(content))})
		}
		input := map[string]any{
			"branch":          map[string]string{"repositoryNameWithOwner": p.a.gitops, "branchName": "main"},
			"expectedHeadOid": head,
			"fileChanges":     map[string]any{"additions": additions},
			"message":         map[string]string{"headline": fmt.Sprintf("Promote %s %s to %d targets of %s", p.a.name, version(p.k), len(paths), p.stage)},
		}
		req, err := c.NewRequest("POST", strings.TrimSuffix(c.BaseURL.String(), "/")+"/graphql", map[string]any{
			"query":     "mutation($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } }",
			"variables": map[string]any{"input": input},
		})
		if err != nil {
			return err
		}
		var out struct {
			Errors []struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if _, err := c.Do(ctx, req, &out); err != nil {
			return fmt.Errorf("createCommitOnBranch: %w", err)
		}
		if len(out.Errors) == 0 {
			return nil
		}
		if out.Errors[0].Type != "STALE_DATA" || attempt > 50 {
			return fmt.Errorf("createCommitOnBranch: %s", out.Errors[0].Message)
		}
	}
}

// rawCommit writes the version into the stage's file as Liftoff does: read
// it from the branch and write it back through the contents API with the
// blob it replaces, reading again when the file changed meanwhile.
func rawCommit(ctx context.Context, p *rawPromotion) error {
	c, repo, path := p.gh, repoName(p.a.gitops), p.a.path(p.stage)
	for attempt := 0; ; attempt++ {
		file, content, err := promotedFile(ctx, p, path, "main")
		if err != nil {
			return err
		}
		_, resp, err := c.Repositories.UpdateFile(ctx, "bench", repo, path, &gh.RepositoryContentFileOptions{
			Message: gh.String(fmt.Sprintf("Promote %s %s to %s", p.a.name, version(p.k), p.stage)),
			Content: []byte(content), SHA: file.SHA, Branch: gh.String("main"),
		})
		if err == nil {
			return nil
		}
		if resp == nil || resp.StatusCode != http.StatusConflict || attempt > 50 {
			return fmt.Errorf("update file: %w", err)
		}
	}
}

// rawStatusWrite patches the Release's status as a reconciler does: the
// whole status (stages with their gates and promotions, conditions), as big
// as the one Liftoff writes, with the current stage in phase.
func rawStatusWrite(ctx context.Context, w *world, p *rawPromotion, phase string) error {
	rel := &releasev1.Release{}
	rel.Namespace, rel.Name = p.rel.Namespace, p.rel.Name
	st := finishedStatus(p.rel, p.k)
	st.Phase, st.CurrentStage = releasev1.PhaseProgressing, p.stage
	for i := range st.Stages {
		if st.Stages[i].Name == p.stage {
			st.Stages[i].Phase = releasev1.StagePhase(phase)
		}
		if st.Stages[i].Name == "prod" && p.a.prod.n > 0 {
			// As big as the targets Liftoff lists there.
			pr := st.Stages[i].Promotion
			for k := range p.a.prod.n {
				st.Stages[i].Targets = append(st.Stages[i].Targets, releasev1.TargetStatus{
					Name: targetName(k), Wave: 1, Phase: releasev1.TargetDeployed, Commit: pr.Commit, PreviousVersion: pr.PreviousVersion,
					CommittedAt: pr.CompletedAt, DeployedAt: pr.CompletedAt, Message: "commit " + pr.Commit[:7] + " on " + p.a.gitops + "@main",
				})
			}
		}
	}
	patch, err := json.Marshal(map[string]any{"status": st})
	if err != nil {
		return err
	}
	if err := w.k8s.Status().Patch(ctx, rel, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("status patch of %s: %w", p.rel.Name, err)
	}
	p.writes.Add(1)
	return nil
}
