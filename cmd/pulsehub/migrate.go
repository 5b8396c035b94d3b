package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/local"
	"github.com/pulsehub/pulsehub/shared/store"
)

func migrateCommand() command {
	return command{
		summary: "apply pending data migrations to the table (the deploy step in AWS)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlags("migrate", "migrate [--table NAME]", stderr)
			table := fs.String("table", os.Getenv(catalog.EnvTable), "physical table name (default $TABLE_NAME, else the local pulsehub-main)")
			if err := parse(fs, args); err != nil {
				return err
			}
			if *table == "" {
				*table = local.PhysicalName("pulsehub", catalog.System().Table.Name)
			}
			cfg, err := awsconfig.LoadDefaultConfig(ctx)
			if err != nil {
				return fmt.Errorf("aws config: %w", err)
			}
			// Migrations read and write items directly; no cursor leaves the process.
			secret := []byte("pulsehub-migrate")
			log := slog.New(slog.NewTextHandler(stderr, nil))
			applied, err := store.Migrate(ctx, store.New(dynamodb.NewFromConfig(cfg), *table, secret), store.Migrations(), log)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "table %s: %d migration(s) applied %v\n", *table, len(applied), applied)
			return nil
		},
	}
}
