"""The outbox protocol, written once against the Sink interface, and the routing of each row to its recipient."""
