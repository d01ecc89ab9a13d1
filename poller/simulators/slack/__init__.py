"""A loopback Slack incoming webhook that checks Block Kit payloads and shows messages as Slack would."""
