"""poller: AWS Partner Central → HubSpot co-sell notifications, as a scheduled reconciliation job."""

__version__ = "0.1.0"
