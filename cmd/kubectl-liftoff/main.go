// Command kubectl-liftoff is Liftoff's kubectl plugin. On PATH it runs as
// `kubectl liftoff`:
//
//	kubectl liftoff status release/NAME [--watch]
//	kubectl liftoff approve release/NAME|launch/NAME --stage prod [--comment TEXT]
//	kubectl liftoff signoff launchchecklist/NAME --item ITEM [--waive|--reject] [--comment TEXT]
//	kubectl liftoff verdict release/NAME continue|rollback
//	kubectl liftoff notes release/NAME [--stage STAGE]
//	kubectl liftoff report releasenotification/NAME [--send]
//	kubectl liftoff pause|resume release/NAME
//	kubectl liftoff rollback pipeline/NAME --stage prod [--to VERSION] --reason TEXT
//	kubectl liftoff resume pipeline/NAME --stage prod [--comment TEXT]
//	kubectl liftoff dashboard [--port 8787]
//	kubectl liftoff version [-n NAMESPACE]
//
// Who approves, signs off or rolls back is never sent: the admission webhook
// stamps it from the authenticated request.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/actions"
)

const usage = `kubectl liftoff: release management from kubectl

Commands:
  status   release/NAME [--watch]        stages, gates and the launch checklist as a tree
  status   launch/NAME [--watch]         a launch's members × stages, the member that holds it marked
  approve  release/NAME --stage STAGE    approve a Manual stage [--comment TEXT]
  approve  launch/NAME --stage STAGE     approve it for every member of the launch (its approvalStages)
  signoff  launchchecklist/NAME --item ITEM [--waive|--reject] [--comment TEXT]
  verdict  release/NAME continue|rollback
                                         decide an Inconclusive analysis
  notes    release/NAME [--stage STAGE]  the pull requests merged since the stage's previous version
                                         (GitHub, with the pipeline's token or $GITHUB_TOKEN)
  report   releasenotification/NAME [--send]
                                         the latest release report (Markdown); --send: one now
  pause    release/NAME                  hold every further promotion
  resume   release/NAME                  let it go on
  rollback pipeline/NAME --stage STAGE --reason TEXT [--to VERSION]
                                         write an earlier version back into the stage now
                                         (default: the one it ran before); later releases
                                         hold before the stage until it is resumed
  resume   pipeline/NAME --stage STAGE   let releases into the stage again [--comment TEXT]
  dashboard [--port 8787] [--address 127.0.0.1] [--open]
                                         the web UI, acting as you (see --help)
  version  [-n NAMESPACE]                this plugin's build and the one the manager runs

Flags of every command: -n/--namespace NS, --kubeconfig FILE, --context NAME.
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

type cli struct {
	c  client.Client
	ns string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(out, usage)
		return nil
	}
	cmd, args := args[0], args[1:]
	if run, ok := ownFlags[cmd]; ok {
		return run(ctx, args, out)
	}
	fs := flag.NewFlagSet("kubectl liftoff "+cmd, flag.ContinueOnError)
	ns := fs.String("namespace", "", "namespace (default: the kubeconfig context's)")
	fs.StringVar(ns, "n", "", "namespace (shorthand)")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file")
	kctx := fs.String("context", "", "kubeconfig context")
	o := &opts{}
	fs.StringVar(&o.stage, "stage", "", "stage to approve, roll back or resume, or of the notes (default: the current stage)")
	fs.StringVar(&o.item, "item", "", "checklist item to sign off")
	fs.StringVar(&o.comment, "comment", "", "why")
	fs.BoolVar(&o.waive, "waive", false, "waive the item instead of approving it")
	fs.BoolVar(&o.reject, "reject", false, "reject the item")
	fs.BoolVar(&o.watch, "watch", false, "keep printing the status as it changes")
	fs.BoolVar(&o.send, "send", false, "report: write and send a report now, then print it")
	fs.BoolVar(&o.watch, "w", false, "watch (shorthand)")
	fs.StringVar(&o.to, "to", "", "rollback: the version to go back to (default: the one the stage ran before)")
	fs.StringVar(&o.reason, "reason", "", "rollback: why, for the commit, the postmortem and the notifications")
	// Flags may follow the positional arguments, as with kubectl.
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) > 0 {
			pos, args = append(pos, args[0]), args[1:]
		}
	}
	cl, err := connect(*kubeconfig, *kctx, *ns)
	if err != nil {
		return err
	}
	return cl.do(ctx, cmd, pos, o, out)
}

// opts are the flags of the commands.
type opts struct {
	stage, item, comment, to, reason string
	waive, reject, watch, send       bool
}

// do runs cmd on the objects named in pos.
func (cl *cli) do(ctx context.Context, cmd string, pos []string, o *opts, out io.Writer) error {
	switch cmd {
	case "status":
		if len(pos) == 1 && isKind(pos[0], "launch") {
			name, _ := object(pos, "launch")
			return cl.status(ctx, name, o.watch, out, cl.renderLaunch)
		}
		name, err := object(pos, "release")
		if err != nil {
			return err
		}
		return cl.status(ctx, name, o.watch, out, cl.render)
	case "approve":
		launch := len(pos) == 1 && isKind(pos[0], "launch")
		kind := "release"
		if launch {
			kind = "launch"
		}
		name, err := object(pos, kind)
		if err != nil {
			return err
		}
		if o.stage == "" {
			return errors.New("approve needs --stage: the stage to approve, for example --stage prod")
		}
		return cl.approve(ctx, kind, name, o.stage, o.comment, out)
	case "signoff":
		name, err := object(pos, "launchchecklist")
		if err != nil {
			return err
		}
		if o.item == "" {
			return errors.New("signoff needs --item: the checklist item, for example --item security-review")
		}
		decision, err := signOffDecision(o.waive, o.reject)
		if err != nil {
			return err
		}
		return cl.signOff(ctx, name, o.item, decision, o.comment, out)
	case "notes":
		name, err := object(pos, "release")
		if err != nil {
			return err
		}
		return cl.notes(ctx, name, o.stage, out)
	case "report":
		name, err := object(pos, "releasenotification")
		if err != nil {
			return err
		}
		return cl.report(ctx, name, o.send, out)
	case "verdict":
		if len(pos) != 2 || (pos[1] != "continue" && pos[1] != "rollback") {
			return errors.New("usage: kubectl liftoff verdict release/NAME continue|rollback")
		}
		name, err := object(pos[:1], "release")
		if err != nil {
			return err
		}
		return cl.verdict(ctx, name, pos[1], out)
	case "rollback", "resume":
		if cmd == "rollback" || len(pos) == 1 && isKind(pos[0], "pipeline") {
			return cl.onPipeline(ctx, cmd, pos, o, out)
		}
		fallthrough
	case "pause":
		name, err := object(pos, "release")
		if err != nil {
			return err
		}
		return cl.pause(ctx, name, cmd == "pause", out)
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}

// onPipeline rolls a stage of the pipeline back, or resumes it.
func (cl *cli) onPipeline(ctx context.Context, cmd string, pos []string, o *opts, out io.Writer) error {
	name, err := object(pos, "pipeline")
	if err != nil {
		return err
	}
	if cmd == "resume" {
		if o.stage == "" {
			return errors.New("resume of a pipeline needs --stage: the stage a rollback holds, for example --stage prod")
		}
		return cl.resumeStage(ctx, name, o.stage, o.comment, out)
	}
	if o.stage == "" || o.reason == "" {
		return errors.New("rollback needs --stage and --reason: for example --stage prod --reason \"errors since 14:00\"")
	}
	return cl.rollback(ctx, name, o.stage, o.to, o.reason, out)
}

// ownFlags are the commands that parse flags of their own.
var ownFlags = map[string]func(context.Context, []string, io.Writer) error{
	"dashboard": runDashboard,
	"version":   runVersion,
}

// signOffDecision is what --waive and --reject ask for: approve without either.
func signOffDecision(waive, reject bool) (releasev1.SignOffDecision, error) {
	switch {
	case waive && reject:
		return "", errors.New("--waive and --reject exclude each other")
	case waive:
		return releasev1.DecisionWaive, nil
	case reject:
		return releasev1.DecisionReject, nil
	}
	return releasev1.DecisionApprove, nil
}

// object parses KIND/NAME (or NAME) of the expected kind.
func object(pos []string, kind string) (string, error) {
	if len(pos) != 1 {
		return "", fmt.Errorf("name one %s: %s/NAME", kind, kind)
	}
	_, name, found := strings.Cut(pos[0], "/")
	if !found {
		return pos[0], nil
	}
	if isKind(pos[0], kind) {
		return name, nil
	}
	return "", fmt.Errorf("%q is not a %s: write %s/NAME", pos[0], kind, kind)
}

// kindAliases are the names kubectl knows each kind by.
var kindAliases = map[string][]string{
	"release":             {"release", "releases", "rel", "release.release.liftoff.dev"},
	"launchchecklist":     {"launchchecklist", "launchchecklists", "lc", "checklist", "launchchecklist.release.liftoff.dev"},
	"releasenotification": {"releasenotification", "releasenotifications", "rnotif", "notification", "releasenotification.release.liftoff.dev"},
	"launch":              {"launch", "launches", "lch", "launch.release.liftoff.dev"},
	"pipeline":            {"pipeline", "pipelines", "releasepipeline", "releasepipelines", "rp", "releasepipeline.release.liftoff.dev"},
}

// isKind reports whether arg is KIND/NAME of kind.
func isKind(arg, kind string) bool {
	k, _, found := strings.Cut(arg, "/")
	if !found {
		return false
	}
	for _, a := range kindAliases[kind] {
		if strings.EqualFold(k, a) {
			return true
		}
	}
	return false
}

func connect(kubeconfig, kctx, ns string) (*cli, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kctx})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, err
	}
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, err
		}
	}
	scheme := runtime.NewScheme()
	if err := releasev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := corev1.AddToScheme(scheme); err != nil { // the pipeline's token for notes
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	return &cli{c: c, ns: ns}, nil
}

func (cl *cli) key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: cl.ns, Name: name}
}

func (cl *cli) approve(ctx context.Context, kind, name, stage, comment string, out io.Writer) error {
	approve := actions.Approve
	if kind == "launch" {
		approve = actions.ApproveLaunch
	}
	a, err := approve(ctx, cl.c, cl.key(name), stage, comment)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s/%s approved for %s by %s\n", kind, name, stage, a.By)
	return nil
}

func (cl *cli) signOff(ctx context.Context, name, item string, decision releasev1.SignOffDecision, comment string, out io.Writer) error {
	so, err := actions.SignOff(ctx, cl.c, cl.key(name), item, decision, comment)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "launchchecklist/%s item %s: %s by %s\n", name, item, strings.ToLower(string(decision))+"d", so.By)
	return nil
}

func (cl *cli) verdict(ctx context.Context, name, verdict string, out io.Writer) error {
	if err := actions.Verdict(ctx, cl.c, cl.key(name), verdict); err != nil {
		return err
	}
	fmt.Fprintf(out, "release/%s verdict: %s\n", name, verdict)
	return nil
}

func (cl *cli) rollback(ctx context.Context, name, stage, to, reason string, out io.Writer) error {
	rb, n, err := actions.RollBack(ctx, cl.c, cl.key(name), stage, to, reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "pipeline/%s: rollback %d of %s to %s asked by %s; releases hold before %s until: kubectl liftoff resume pipeline/%s --stage %s\n",
		name, n, stage, rb.To, rb.By, stage, name, stage)
	return nil
}

func (cl *cli) resumeStage(ctx context.Context, name, stage, comment string, out io.Writer) error {
	r, err := actions.ResumeStage(ctx, cl.c, cl.key(name), stage, comment)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "pipeline/%s: %s resumed by %s\n", name, stage, r.By)
	return nil
}

func (cl *cli) pause(ctx context.Context, name string, paused bool, out io.Writer) error {
	if err := actions.SetPaused(ctx, cl.c, cl.key(name), paused); err != nil {
		return err
	}
	word := "resumed"
	if paused {
		word = "paused"
	}
	fmt.Fprintf(out, "release/%s %s\n", name, word)
	return nil
}

func (cl *cli) status(ctx context.Context, name string, watch bool, out io.Writer, render func(context.Context, string) (string, error)) error {
	if !watch {
		text, err := render(ctx, name)
		if err != nil {
			return err
		}
		_, err = io.WriteString(out, text)
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	last := ""
	for {
		text, err := render(ctx, name)
		if err != nil {
			return err
		}
		if text != last {
			if last != "" {
				fmt.Fprintln(out)
			}
			fmt.Fprint(out, text)
			last = text
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}
