"""Issued documents: rendering, immutable storage, the applicant's download and public verification."""
