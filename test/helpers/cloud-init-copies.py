# Lets Debian's real cloud-init make its copies of a user-data, as it does on a node's first boot,
# under a scratch root: argv[1] is that root, holding var/lib/cloud/seed/nocloud/{user-data,meta-data}.
# Run as the init stage runs (cloudinit/cmd/main.py main_init): find the NoCloud datasource,
# make the instance folder, store user-data (raw and MIME), consume it (cloud-config.txt),
# re-pickle the datasource. Two files newer cloud-init writes are added with its own serialisers:
# combined-cloud-config.json (23.1+: atomic_helper.write_json of the merged config) and
# instance-data-sensitive.json written again with the merged config (as on a later boot, from
# the restored datasource). Extra pickles at every protocol show what another Python would write.
import os
import pickle
import sys

root = sys.argv[1]
cfg_file = os.path.join(root, "cloud.cfg")
with open(cfg_file, "w") as f:
    f.write(
        "datasource_list: [NoCloud]\n"
        f"def_log_file: {root}/cloud-init.log\n"
        "system_info:\n"
        "  paths:\n"
        f"    cloud_dir: {root}/var/lib/cloud\n"
        f"    run_dir: {root}/run/cloud-init\n"
    )
os.environ["CLOUD_CFG"] = cfg_file  # read on every re-read of the config, unlike extra_fns

from cloudinit import helpers, sources, stages, util  # noqa: E402
from cloudinit.settings import PER_INSTANCE  # noqa: E402

init = stages.Init(ds_deps=[sources.DEP_FILESYSTEM])
init.read_cfg()
init.initialize()
init.fetch(existing="check")
init.instancify()
init.setup_datasource()
init.update()
init.consume_data(PER_INSTANCE)
# The config merged with cloud-config.txt, as cloud-init reads it at its default paths (22.4's
# Init._read_cfg looks for cloud-config.txt under /var/lib/cloud whatever cloud_dir says).
init._cfg = helpers.ConfigMerger(paths=init.paths, datasource=init.datasource, base_cfg=stages.fetch_base_config()).cfg
init._distro = None
init.distro  # noqa: B018 (as Modules() does: hands that config to the datasource)
init.activate_datasource()  # pickles the datasource again, now with that config

combined = dict(init.cfg, _doc="combined", system_info=init._extract_cfg("system"))
util.write_file(os.path.join(init.paths.run_dir, "combined-cloud-config.json"), util.json_dumps(combined), 0o600)
init.datasource.persist_instance_data(write_cache=False)

ds = init.datasource
for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
    util.write_file(init.paths.get_ipath_cur("obj_pkl") + f".protocol{protocol}", pickle.dumps(ds, protocol=protocol), 0o600)
