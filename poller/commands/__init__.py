"""Click subcommands, one module per command family; `poller.cli` assembles them."""
