"""Names of the files a run folder holds (written by the runner, read by report and archive)."""

REQUESTS_FILE = "requests.csv"
MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = "1"
CAMPAIGN_FILE = "campaign.json"  # results/<campaign>/campaign.json: targets, jobs, where each ran
CAMPAIGN_VERSION = "1"
