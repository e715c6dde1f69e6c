// Command kube-apiserver is Kubernetes' own API server, linked from its Go module so the
// tests run against the real thing without a container runtime.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
