"""Fingerprint sensors: the contract (`base`), the ZhianTec R30x-family serial driver
(`r30x`, over `r30x_protocol`) and its protocol-faithful simulator (`simulator`)."""
