"""A loopback Amazon SNS (Query protocol) for the SNS sink's real boto3 client."""
