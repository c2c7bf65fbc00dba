"""The running portal: storage, accounts, cases, audit and the web app, all driven by compiled definitions."""
