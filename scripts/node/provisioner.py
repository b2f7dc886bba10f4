#!/usr/bin/env python3
"""The real node's storage provisioner: PersistentVolumeClaims of the StorageClass whose
provisioner is PROVISIONER get a `local` PersistentVolume backed by a real directory under
ROOT on the node (so the kubelet mounts it and applies fsGroup, and the data outlives pods);
Released volumes of that provisioner are deleted with their directory. It polls with kubectl
once a second (a handful of claims: no watch machinery needed).

Usage: provisioner.py KUBECTL KUBECONFIG NODE_NAME ROOT
"""
import json
import os
import shutil
import subprocess
import sys
import time

PROVISIONER = "berth.local/node-directory"


def kubectl(*args, stdin=None):
    out = subprocess.run([KUBECTL, "--kubeconfig", KUBECONFIG, *args], input=stdin,
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def our_classes():
    classes = json.loads(kubectl("get", "storageclass", "-o", "json"))["items"]
    return {c["metadata"]["name"] for c in classes if c.get("provisioner") == PROVISIONER}


def provision(claim, classes, existing):
    meta, spec = claim["metadata"], claim["spec"]
    wanted = meta.get("annotations", {}).get("volume.kubernetes.io/storage-provisioner")
    if spec.get("volumeName") or claim.get("status", {}).get("phase") == "Bound":
        return
    if spec.get("storageClassName") not in classes and wanted != PROVISIONER:
        return
    name = f"pvc-{meta['uid']}"
    if name in existing:  # created last round; the PV controller binds it
        return
    path = os.path.join(ROOT, f"{meta['namespace']}_{meta['name']}_{meta['uid']}")
    os.makedirs(path, exist_ok=True)
    # Root-owned, not world-writable: the kubelet gives the pod's fsGroup access on mount.
    os.chmod(path, 0o755)
    pv = {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
                     "labels": {"berth.local/node-directory": "true"}},
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": spec.get("accessModes", ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": spec.get("storageClassName"),
            "volumeMode": spec.get("volumeMode", "Filesystem"),
            "local": {"path": path},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE]}]}]}},
        },
    }
    kubectl("create", "-f", "-", stdin=json.dumps(pv))
    print(f"provisioned {name} at {path} for {meta['namespace']}/{meta['name']}", flush=True)


def reclaim(pv):
    meta, spec = pv["metadata"], pv["spec"]
    if meta.get("annotations", {}).get("pv.kubernetes.io/provisioned-by") != PROVISIONER:
        return
    if pv.get("status", {}).get("phase") != "Released" or spec.get("persistentVolumeReclaimPolicy") != "Delete":
        return
    path = spec.get("local", {}).get("path", "")
    if path.startswith(ROOT + os.sep):
        shutil.rmtree(path, ignore_errors=True)
    kubectl("delete", "pv", meta["name"], "--wait=false")
    print(f"deleted {meta['name']} and {path}", flush=True)


def main():
    while True:
        try:
            classes = our_classes()
            volumes = json.loads(kubectl("get", "pv", "-o", "json"))["items"]
            existing = {pv["metadata"]["name"] for pv in volumes}
            for claim in json.loads(kubectl("get", "pvc", "-A", "-o", "json"))["items"]:
                if claim["metadata"].get("deletionTimestamp") is None:
                    provision(claim, classes, existing)
            for pv in volumes:
                reclaim(pv)
        except (RuntimeError, subprocess.TimeoutExpired, KeyError, OSError) as e:
            print(f"provisioner: {e}", file=sys.stderr, flush=True)
        time.sleep(1)


if __name__ == "__main__":
    KUBECTL, KUBECONFIG, NODE, ROOT = sys.argv[1:5]
    os.makedirs(ROOT, exist_ok=True)
    main()
