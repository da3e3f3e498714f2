"""The wizards: create a guest, clone one from a snapshot, browse a guest's snapshots (and, built on the same
screens, migrate one). Each collects typed input (`hvdeck.widgets.form`), builds a Plan through the fleet and
runs it on the plan screen."""
