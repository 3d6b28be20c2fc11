// Command argocd runs one Argo CD component, chosen like upstream's single binary does: by
// ARGOCD_BINARY_NAME, else by the executable's name. Only the components the real systems tier
// starts are linked in, which keeps the build smaller than upstream's all-in-one binary.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	gitaskpass "github.com/argoproj/argo-cd/v3/cmd/argocd-git-ask-pass/commands"
	notification "github.com/argoproj/argo-cd/v3/cmd/argocd-notification/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	apiserver "github.com/argoproj/argo-cd/v3/cmd/argocd-server/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

func init() {
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
}

func main() {
	role := filepath.Base(os.Args[0])
	if fromEnv := os.Getenv("ARGOCD_BINARY_NAME"); fromEnv != "" {
		role = fromEnv
	}
	commands := map[string]func() *cobra.Command{
		"argocd-server":                 apiserver.NewCommand,
		"argocd-repo-server":            reposerver.NewCommand,
		"argocd-application-controller": appcontroller.NewCommand,
		"argocd-notifications":          notification.NewCommand,
		// repo-server runs itself under this name as GIT_ASKPASS when a repository has credentials.
		"argocd-git-ask-pass": gitaskpass.NewCommand,
	}
	newCommand, known := commands[role]
	if !known {
		fmt.Fprintf(os.Stderr, "unknown Argo CD component %q (set ARGOCD_BINARY_NAME)\n", role)
		os.Exit(2)
	}
	if err := newCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
