// Command kube-apiserver is Kubernetes' own API server, linked from its Go module so the
// tests run against the real thing without a container runtime.
package main

import (
	"os"
	// Embedded zone data, as upstream's main has it, so CronJob timeZone validation does not
	// depend on the machine's tzdata.
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
