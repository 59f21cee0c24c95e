"""Two HR APIs that the API security scanner (`dataward scan spec`, `dataward scan live`) is tested
against: `vulnerable_api` plants one flaw for each rule, `clean_api` is its careful twin, and
`manifest` lists what a scan of each must find.

Everything in them is fictional (`_people`), and both serve on 127.0.0.1 only:
`python tests/scan_targets/vulnerable_api.py --port 9100`.
"""
