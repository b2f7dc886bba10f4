// Command coredns is CoreDNS (github.com/coredns/coredns, the version in go.mod) linked
// with only the plugins the real node's cluster DNS uses (scripts/node.sh): the upstream
// coremain and plugin packages, unchanged -- CoreDNS's documented way to choose plugins
// at build time. Leaving out forward, the cloud DNS backends and etcd keeps the build
// small and means this server cannot send a query off the machine: there is no plugin
// that could forward one.
package main

import (
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/template"

	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
