"""The SNS adapter: a topic as a sink, published to with a real boto3 `sns` client."""
