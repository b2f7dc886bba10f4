// Command berth-k8s is one multi-call binary holding the Kubernetes control
// plane that berth's cluster tests run against (see scripts/cluster.sh):
//
//	berth-k8s etcd --data-dir D --listen-client-url URL --listen-peer-url URL
//	berth-k8s kube-apiserver [flags]
//	berth-k8s kube-controller-manager [flags]
//	berth-k8s kube-scheduler [flags]
//	berth-k8s kubelet [flags]       (the real node, scripts/node.sh)
//	berth-k8s kube-proxy [flags]    (the real node, scripts/node.sh)
//
// The subcommand may also come from argv[0] (a symlink named after it).
// Each Kubernetes component runs its own upstream cobra command, exactly as
// the upstream cmd/<component>/main.go does; linking them into one binary
// compiles and links the shared packages once.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	_ "time/tzdata" // for CronJob time zone support, as upstream

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics plugins
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric registration
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

var commands = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": func() *cobra.Command { return controllermanager.NewControllerManagerCommand() },
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	"kube-proxy":              proxy.NewProxyCommand,
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: berth-k8s {etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy} [flags]")
	os.Exit(2)
}

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if name != "etcd" && commands[name] == nil {
		if len(args) == 0 {
			usage()
		}
		name, args = args[0], args[1:]
	}
	if name == "etcd" {
		os.Exit(runEtcd(args))
	}
	newCmd, ok := commands[name]
	if !ok {
		usage()
	}
	cmd := newCmd()
	cmd.SetArgs(args)
	os.Exit(cli.Run(cmd))
}
