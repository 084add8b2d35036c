"""The device agent: enrols this device with a menshen gateway and reports its posture.

A small client (``menshen agent enrol`` / ``menshen agent report``) that runs on the device,
not on the gateway: it makes the device-bound key, asks the tenant's device CA for a client
certificate, and signs posture reports with that key (NIST SP 800-207 §2.1 tenet 5).
"""
