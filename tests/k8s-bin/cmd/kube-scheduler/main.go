// Command kube-scheduler is Kubernetes' own scheduler, linked from its Go module so that pods
// of the test cluster are bound to its kwok nodes by the real scheduling rules (capacity,
// taints, affinity), and unschedulable pods carry the scheduler's own message.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
