// Command kube-controller-manager is Kubernetes' own controller manager, linked from its Go
// module so that the test cluster has Deployments that make ReplicaSets, namespaces that finish
// deleting, garbage collection through owner references and ServiceAccount tokens.
package main

import (
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
