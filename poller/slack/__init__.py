"""The Slack adapter: an incoming webhook as a sink, its messages in Block Kit."""
