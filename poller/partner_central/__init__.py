"""The Partner Central adapter: a real boto3 client, its answers checked against botocore's model, its access probed."""

from poller.partner_central.client import PartnerCentral, make_client, parse_timestamp

__all__ = ["PartnerCentral", "make_client", "parse_timestamp"]
