"""The 2i2c infrastructure repository's layout: where a hub's files go, and cluster.yaml.

- paths.py: every `config/clusters/...` path the portal reads or writes;
- cluster_file.py: a hub's entry added to, changed in or removed from cluster.yaml;
- cluster_yaml.py: the fast line-splicing editor cluster_file.py tries first.
"""
