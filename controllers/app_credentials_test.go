package controllers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

const (
	testAppID     = 314
	exchangeRoute = "POST /app/installations/{installation_id}/access_tokens"
)

// appKey is one of the App private keys.
func appKey(i int) (*rsa.PrivateKey, []byte) { return githubsim.SharedAppKey(i) }

// withApp registers the GitHub App testAppID (key 0) in the simulator,
// installs it on acme's repositories (all, or those named) and makes the
// Secret "github" hold the App's credential instead of the token; mod may
// change the Secret's data.
func withApp(repos []string, mod func(data map[string][]byte)) envOption {
	return func(e *testEnv) {
		e.onSim = append(e.onSim, func(e *testEnv) {
			key, keyPEM := appKey(0)
			e.sim.AddApp(testAppID, "liftoff", &key.PublicKey)
			inst, err := e.sim.InstallApp(testAppID, "acme", repos...)
			if err != nil {
				e.t.Fatal(err)
			}
			e.secret = appSecret(inst, keyPEM)
			if mod != nil {
				mod(e.secret)
			}
		})
	}
}

func appSecret(inst int64, keyPEM []byte) map[string][]byte {
	return map[string][]byte{
		"appID":          []byte(strconv.Itoa(testAppID)),
		"installationID": []byte(strconv.FormatInt(inst, 10)),
		"privateKey":     keyPEM,
	}
}

// keyLines are the lines of a PEM's body: none may appear anywhere.
func keyLines(keyPEM []byte) []string {
	var out []string
	for _, l := range strings.Split(string(keyPEM), "\n") {
		if len(l) > 16 && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}

// everythingVisible is what a person can read: events, and the status of
// every Liftoff object of the namespace.
func (e *testEnv) everythingVisible() string {
	var b strings.Builder
	b.WriteString(eventMessages(e))
	for _, list := range []client.ObjectList{&releasev1.ReleaseList{}, &releasev1.ReleasePipelineList{}, &releasev1.MilestoneList{}, &releasev1.LaunchChecklistList{}} {
		if err := k8s.List(context.Background(), list, client.InNamespace(e.ns)); err != nil {
			e.t.Fatal(err)
		}
		raw, _ := json.Marshal(list)
		b.Write(raw)
	}
	return b.String()
}

func (e *testEnv) expectKeyNowhere(g Gomega, keyPEM []byte) {
	visible := e.everythingVisible()
	for _, l := range keyLines(keyPEM) {
		g.Expect(visible).NotTo(ContainSubstring(l), "the private key appears in an event or a status")
	}
}

func (e *testEnv) exchanges() int { return e.sim.Requests().ByOperation[exchangeRoute] }

func TestPromotesWithAGitHubApp(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, withApp(nil, nil))
	// A milestone names the same App installation through another Secret:
	// the one client (and its token) is shared.
	g.Expect(k8s.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "github-copy", Namespace: e.ns}, Data: e.secret})).To(Succeed())
	e.sim.CreateMilestone(appRepo, "1.5", time.Now().Add(30*24*time.Hour))
	e.milestone("q4", func(ms *releasev1.Milestone) {
		ms.Spec.DueDate = metav1.NewTime(time.Now().Add(30 * 24 * time.Hour))
		ms.Spec.GitHub = &releasev1.MilestoneGitHub{Repository: appRepo, Milestone: "1.5", APIURL: e.sim.URL() + "/", SecretRef: &releasev1.LocalObjectReference{Name: "github-copy"}}
	})
	e.pipeline()
	e.release("r", "1.4.2")

	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Eventually(func() *metav1.Time { return e.getMilestone("q4").Status.LastSynced }, timeout, interval).ShouldNot(BeNil())
	g.Expect(e.liftoffCommits("r", "")).To(HaveLen(3), "one commit per stage, made as the App")
	g.Expect(e.sim.Deployments(appRepo)).To(HaveLen(3))
	st := e.sim.Requests()
	g.Expect(st.ByOperation[exchangeRoute]).To(Equal(1), "one installation token for the pipeline and the milestone")
	g.Expect(st.ByStatus).NotTo(HaveKey(401))
	_, keyPEM := appKey(0)
	e.expectKeyNowhere(g, keyPEM)
}

// The installation token expires while the Release soaks in dev; it is
// renewed before the next request, and no step fails.
func TestAppTokenRenewedMidPromotion(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	e := newEnv(t, withClock(clk), withSimulator(githubsim.WithInstallationTokenTTL(10*time.Minute)), withApp(nil, nil))
	e.pipeline(e.stage("dev"), e.stage("staging", func(s *releasev1.Stage) {
		s.Gates = &releasev1.Gates{Soak: &metav1Duration{Duration: 30 * time.Minute}}
	}), e.stage("prod"))
	e.release("r", "1.4.2")

	g.Eventually(e.gate("r", "staging", "soak"), timeout, interval).Should(HavePrefix("Pending/Soaking"))
	g.Expect(e.exchanges()).To(Equal(1))
	clk.Step(31 * time.Minute) // the token expired 21 minutes ago
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))

	g.Expect(e.exchanges()).To(Equal(2), "one renewal")
	g.Expect(e.sim.Requests().ByStatus).NotTo(HaveKey(401), "GitHub never refused a token")
	g.Expect(e.liftoffCommits("r", "")).To(HaveLen(3))
	for _, reason := range eventReasons(e, "r") {
		g.Expect(reason).NotTo(Or(HavePrefix("GitHub"), Equal("Blocked")), "no step failed")
	}
}

// A key rotated in the Secret (the old one revoked in GitHub) is picked up
// at the next token exchange, without a failed step.
func TestRotatedAppKeyIsPickedUp(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	e := newEnv(t, withClock(clk), withApp(nil, nil))
	e.pipeline(e.stage("dev"))
	e.release("r", "1.4.2")
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))

	oldKey, oldPEM := appKey(0)
	newKey, newPEM := appKey(1)
	g.Expect(e.sim.AddAppKey(testAppID, &newKey.PublicKey)).To(Succeed())
	secret := &corev1.Secret{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: "github"}, secret)).To(Succeed())
	secret.Data["privateKey"] = newPEM
	g.Expect(k8s.Update(context.Background(), secret)).To(Succeed())
	g.Expect(e.sim.RevokeAppKey(testAppID, &oldKey.PublicKey)).To(Succeed())
	clk.Step(61 * time.Minute) // the token of the old key has expired

	sha := e.commitTagged("v1.4.3")
	e.release("r2", "1.4.3")
	g.Eventually(e.phase("r2"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.get("r2").Status.Commit).To(Equal(sha))
	g.Expect(e.exchanges()).To(BeNumerically(">=", 2))
	g.Expect(eventReasons(e, "r2")).NotTo(ContainElement(HavePrefix("GitHub")), "no step failed")
	g.Expect(e.condition("r2", releasev1.ConditionStalled)()).NotTo(HavePrefix("True"))
	e.expectKeyNowhere(g, oldPEM)
	e.expectKeyNowhere(g, newPEM)
}

// commitTagged commits to the application repository and tags it.
func (e *testEnv) commitTagged(tag string) string {
	e.t.Helper()
	sha, err := e.sim.CommitFiles(appRepo, "main", map[string]string{"main.go": "package main // " + tag + "\n"}, "Release "+tag)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.sim.CreateTag(appRepo, tag, sha); err != nil {
		e.t.Fatal(err)
	}
	return sha
}

func TestBadAppCredentialsBlockAndWriteNothing(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
	_, otherPEM := appKey(1)
	set := func(k, v string) func(map[string][]byte) { return func(d map[string][]byte) { d[k] = []byte(v) } }
	ahead := func() time.Time { return time.Now().Add(20 * time.Minute) }
	tests := []struct {
		name    string
		repos   []string
		mod     func(map[string][]byte)
		sim     []githubsim.Option
		reason  string
		message string
	}{
		{name: "privateKey not PEM", mod: set("privateKey", "MIIEpAIBAAKCAQEA"), reason: releasev1.ReasonGitHubAppKeyInvalid, message: "privateKey is not PEM"},
		{name: "privateKey not RSA", mod: set("privateKey", string(ecPEM)), reason: releasev1.ReasonGitHubAppKeyInvalid, message: "privateKey is an ECDSA key; GitHub Apps sign with RSA keys"},
		{name: "key of no App", mod: set("privateKey", string(otherPEM)), reason: releasev1.ReasonGitHubAppKeyRefused, message: "A JSON web token could not be decoded: the privateKey is not a key of GitHub App 314"},
		{name: "unknown installation", mod: set("installationID", "999999"), reason: releasev1.ReasonGitHubAppInstallationNotFound, message: "GitHub App 314 has no installation 999999"},
		{name: "not installed on the GitOps repository", repos: []string{appRepo}, reason: releasev1.ReasonGitHubAppNotInstalled, message: "repository acme/gitops is not among the repositories of GitHub App installation"},
		{name: "clock skew", sim: []githubsim.Option{githubsim.WithClock(ahead)}, reason: releasev1.ReasonGitHubAppClockSkew, message: "behind GitHub's: synchronise the node's clock (NTP)"},
		{name: "both kinds of keys", mod: set("token", token), reason: releasev1.ReasonSecretInvalid, message: "has both `token` and GitHub App keys (appID, installationID, privateKey): keep one kind"},
		{name: "neither kind", mod: func(d map[string][]byte) { clear(d); d["user"] = []byte("liftoff") }, reason: releasev1.ReasonSecretInvalid, message: "has no `token` key"},
		{name: "appID not a number", mod: set("appID", "Iv1.8a61f9b3a7aba766"), reason: releasev1.ReasonSecretInvalid, message: "`appID` is not a number: use the App ID on the App's settings page"},
		{name: "no installationID", mod: func(d map[string][]byte) { delete(d, "installationID") }, reason: releasev1.ReasonSecretInvalid, message: "has no installationID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, withSimulator(tt.sim...), withApp(tt.repos, tt.mod))
			e.pipeline()
			e.release("r", "1.4.2")
			g.Eventually(e.condition("r", releasev1.ConditionBlocked), timeout, interval).Should(And(
				HavePrefix("True/"+tt.reason), ContainSubstring(tt.message)))
			g.Expect(e.condition("r", releasev1.ConditionStalled)()).To(HavePrefix("True/" + tt.reason))
			g.Consistently(func() int { return len(e.liftoffCommits("", "")) }, time.Second, 100*time.Millisecond).Should(BeZero())
			g.Expect(e.sim.Deployments(appRepo)).To(BeEmpty(), "nothing is written to GitHub")
			g.Expect(e.get("r").Status.Phase).To(Equal(releasev1.PhaseBlocked))
			_, keyPEM := appKey(0)
			e.expectKeyNowhere(g, keyPEM)
			e.expectKeyNowhere(g, otherPEM)
		})
	}
}

// The milestone, the pipeline's discovery and a launch checklist that use a
// credential GitHub refuses stall with its reason too.
func TestBadAppCredentialStallsMilestoneDiscoveryAndChecklist(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, withApp(nil, func(d map[string][]byte) { d["installationID"] = []byte("999999") }))
	const reason, message = releasev1.ReasonGitHubAppInstallationNotFound, "GitHub App 314 has no installation 999999"
	e.discoveringPipeline(releasev1.DiscoverTags, ">=1.5.0", time.Minute)
	g.Eventually(func() string { return conditionIn(e.getPipeline().Status.Conditions, releasev1.ConditionStalled) }, timeout, interval).Should(And(HavePrefix("True/"+reason), ContainSubstring(message)))

	e.milestone("q4", func(ms *releasev1.Milestone) {
		ms.Spec.DueDate = metav1.NewTime(time.Now().Add(30 * 24 * time.Hour))
		ms.Spec.GitHub = &releasev1.MilestoneGitHub{Repository: appRepo, Milestone: "1.5", APIURL: e.sim.URL() + "/", SecretRef: &releasev1.LocalObjectReference{Name: "github"}}
	})
	g.Eventually(e.msCondition("q4", releasev1.ConditionStalled), timeout, interval).Should(And(HavePrefix("True/"+reason), ContainSubstring(message)))

	issue := e.sim.CreateIssue(appRepo, "Write the launch FAQ", nil, 0)
	g.Expect(k8s.Create(context.Background(), &releasev1.LaunchChecklist{
		ObjectMeta: metav1.ObjectMeta{Name: "launch", Namespace: e.ns},
		Spec: releasev1.LaunchChecklistSpec{Items: []releasev1.ChecklistItem{
			{Name: "support-faq", Function: "Support", Check: releasev1.ItemCheck{GitHubIssue: &releasev1.GitHubItemRef{Repository: appRepo, Number: issue}}},
		}},
	})).To(Succeed())
	e.release("r", "1.4.2", func(r *releasev1.Release) { r.Spec.LaunchChecklist = "launch" })
	g.Eventually(func() string { return conditionIn(e.getChecklist().Status.Conditions, releasev1.ConditionStalled) }, timeout, interval).Should(And(HavePrefix("True/"+reason), ContainSubstring(message)))
	g.Expect(e.itemState("support-faq")()).To(ContainSubstring(message))
	g.Expect(e.releaseNames()).To(ConsistOf("r"), "discovery made nothing")
	_, keyPEM := appKey(0)
	e.expectKeyNowhere(g, keyPEM)
}

// conditionIn is "Status/Reason: message" of the condition of type ctype.
func conditionIn(conds []metav1.Condition, ctype string) string {
	if c := meta.FindStatusCondition(conds, ctype); c != nil {
		return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
	}
	return ""
}

// withAppPermissions gives the App's installation (withApp, before it) perms
// instead of the permissions Liftoff needs.
func withAppPermissions(perms githubsim.Permissions) envOption {
	return func(e *testEnv) {
		e.onSim = append(e.onSim, func(e *testEnv) {
			if err := e.sim.SetInstallationPermissions(e.appInstallation(), perms); err != nil {
				e.t.Fatal(err)
			}
		})
	}
}

// appInstallation is the installation ID in the Secret withApp wrote.
func (e *testEnv) appInstallation() int64 {
	e.t.Helper()
	id, err := strconv.ParseInt(string(e.secret["installationID"]), 10, 64)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// grantAppPermissions has the installation's account accept the permissions
// Liftoff needs, in GitHub; nobody touches the cluster.
func (e *testEnv) grantAppPermissions() {
	e.t.Helper()
	if err := e.sim.SetInstallationPermissions(e.appInstallation(), githubsim.DefaultAppPermissions()); err != nil {
		e.t.Fatal(err)
	}
}

// appPermissionsWithout is what Liftoff needs less the permissions named
// (name=level keeps name at level).
func appPermissionsWithout(names ...string) githubsim.Permissions {
	p := githubsim.DefaultAppPermissions()
	for _, n := range names {
		name, level, _ := strings.Cut(n, "=")
		delete(p, name)
		if level != "" {
			p[name] = level
		}
	}
	return p
}

// An App that may read the GitOps repository but not write it: the Release
// stalls on the missing permission, named with where to grant it, and
// nothing is committed. Once the installation's account accepts contents:
// write in GitHub, the Release goes on by itself at its next try (the
// stalled retry interval): a new installation token carries the permission.
func TestAppWithoutContentsWriteStallsUntilGranted(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, withApp(nil, nil), withAppPermissions(appPermissionsWithout("contents=read")))
	e.pipeline(e.stage("dev"))
	e.release("r", "1.4.2")

	missing := And(HavePrefix("True/"+releasev1.ReasonGitHubAppPermissionMissing),
		ContainSubstring("grant contents=write (Contents: Read and write) in the GitHub App's settings > Permissions, then accept the new permissions on the installation"))
	g.Eventually(e.condition("r", releasev1.ConditionStalled), timeout, interval).Should(missing)
	g.Expect(e.condition("r", releasev1.ConditionBlocked)()).To(missing)
	g.Consistently(func() int { return len(e.liftoffCommits("", "")) }, time.Second, 100*time.Millisecond).Should(BeZero(), "nothing is committed")
	g.Expect(e.sim.Deployments(appRepo)).To(BeEmpty())
	g.Expect(e.condition("r", releasev1.ConditionStalled)()).NotTo(ContainSubstring("check the token"))

	e.grantAppPermissions()
	g.Eventually(e.phase("r"), conditions.RetryStalled+timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.liftoffCommits("r", "dev")).To(HaveLen(1))
	g.Expect(e.condition("r", releasev1.ConditionStalled)()).To(BeEmpty())
	g.Expect(e.sim.Deployments(appRepo)).To(HaveLen(1))
	_, keyPEM := appKey(0)
	e.expectKeyNowhere(g, keyPEM)
}

// An App without deployments: write: the GitHub deployment is a record of
// what Liftoff did, and a missing permission must not hold a commit that is
// good to go. The promotion lands and the Release is released; the record is
// owed (status.pendingRecords) and RecordsPending says which permission to
// grant. Once granted, the record is written at the next try.
func TestAppWithoutDeploymentsWriteOwesTheRecord(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, withApp(nil, nil), withAppPermissions(appPermissionsWithout("deployments=read")))
	e.pipeline(e.stage("dev"))
	e.release("r", "1.4.2")

	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased), "the record does not hold the Release")
	g.Eventually(e.condition("r", releasev1.ConditionRecordsPending), timeout, interval).Should(And(
		HavePrefix("True/"+releasev1.ReasonGitHubAppPermissionMissing+": deployment record of dev (success) not written yet"),
		ContainSubstring("grant deployments=write (Deployments: Read and write) in the GitHub App's settings > Permissions")))
	g.Expect(e.liftoffCommits("r", "dev")).To(HaveLen(1))
	g.Expect(e.condition("r", releasev1.ConditionStalled)()).To(BeEmpty(), "the Release itself is not stalled")
	g.Expect(e.sim.Deployments(appRepo)).To(BeEmpty())
	g.Expect(e.get("r").Status.PendingRecords).To(ConsistOf(HaveField("Stage", "dev")))

	e.grantAppPermissions()
	g.Eventually(func() []releasev1.PendingRecord { return e.get("r").Status.PendingRecords }, conditions.RetryStalled+timeout, interval).Should(BeEmpty())
	g.Expect(e.condition("r", releasev1.ConditionRecordsPending)()).To(BeEmpty())
	deps := e.sim.Deployments(appRepo)
	g.Expect(deps).To(HaveLen(1))
	g.Expect(deps[0].Statuses).To(ConsistOf(HaveField("State", "success")))
}

// Discovery of tags needs metadata: read, a milestone's issues issues: read:
// without them the pipeline's discovery and the Milestone stall with the
// permission to grant.
func TestAppWithoutIssuesOrMetadataStallsMilestoneAndDiscovery(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, withApp(nil, nil), withAppPermissions(appPermissionsWithout("issues", "metadata")))
	const reason = releasev1.ReasonGitHubAppPermissionMissing
	e.discoveringPipeline(releasev1.DiscoverTags, ">=1.5.0", time.Minute)
	g.Eventually(func() string { return conditionIn(e.getPipeline().Status.Conditions, releasev1.ConditionStalled) }, timeout, interval).Should(And(
		HavePrefix("True/"+reason), ContainSubstring("GET /repos/acme/checkout/tags"), ContainSubstring("grant metadata=read (Metadata: Read-only)")))

	e.sim.CreateMilestone(appRepo, "1.5", time.Now().Add(30*24*time.Hour))
	e.milestone("q4", func(ms *releasev1.Milestone) {
		ms.Spec.DueDate = metav1.NewTime(time.Now().Add(30 * 24 * time.Hour))
		ms.Spec.GitHub = &releasev1.MilestoneGitHub{Repository: appRepo, Milestone: "1.5", APIURL: e.sim.URL() + "/", SecretRef: &releasev1.LocalObjectReference{Name: "github"}}
	})
	g.Eventually(e.msCondition("q4", releasev1.ConditionStalled), timeout, interval).Should(And(
		HavePrefix("True/"+reason), ContainSubstring("grant issues=read (Issues: Read-only)")))
	g.Expect(e.releaseNames()).To(BeEmpty(), "discovery made nothing")
}

// Two pipelines name one App installation through two Secrets, one of them
// holding a key that is not the App's. The wrong one blocks with
// GitHubAppKeyRefused and never gets a token; the good pipeline's Release,
// before and after it, goes on with its one token and is never refused.
func TestAWrongKeyInAnotherSecretLeavesThePipelineAlone(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, withApp(nil, nil))
	ctx := context.Background()
	e.pipeline(e.stage("dev"), e.stage("prod", func(s *releasev1.Stage) {
		s.Promotion = releasev1.PromotionManual
		s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
	}))
	e.release("r", "1.4.2")
	g.Eventually(e.stagePhase("r", "prod"), timeout, interval).Should(Equal(releasev1.StageWaiting))
	g.Expect(e.exchanges()).To(Equal(1))

	_, wrongPEM := appKey(1) // not a key of the App
	wrong := appSecret(0, wrongPEM)
	wrong["installationID"] = e.secret["installationID"]
	g.Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "github-wrong", Namespace: e.ns}, Data: wrong})).To(Succeed())
	payments := e.newPipeline(e.stage("dev"))
	payments.Name, payments.Spec.GitHub.SecretRef.Name = "payments", "github-wrong"
	g.Expect(k8s.Create(ctx, payments)).To(Succeed())
	e.release("w", "2.0.0", func(r *releasev1.Release) { r.Spec.Pipeline = "payments" })
	g.Eventually(e.condition("w", releasev1.ConditionBlocked), timeout, interval).Should(HavePrefix("True/" + releasev1.ReasonGitHubAppKeyRefused))

	g.Expect(e.approveAs(e.approver("ann"), "r", "prod")).To(Succeed())
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	st := e.sim.Requests()
	g.Expect(st.ByOperation[exchangeRoute]-st.ByStatus[401]).To(Equal(1), "the good key's one token, never exchanged again")
	g.Expect(st.ByStatus[401]).To(BeNumerically(">", 0), "the wrong key was tried")
	g.Expect(eventReasons(e, "r")).NotTo(ContainElement(releasev1.ReasonGitHubAppKeyRefused))
	g.Expect(e.liftoffCommits("w", "")).To(BeEmpty())
	g.Expect(e.get("w").Status.Phase).To(Equal(releasev1.PhaseBlocked))
}
