"""`make bootstrap`: deploy the account stack (stacks/account_stack.py), whose S3 bucket holds every stack's state, its
own included.

A new account has no bucket yet, so the first run applies with local state and then moves that state into the bucket
it made:

1. The settings are read and checked (bad input: exit 2, nothing written). Is the account stack's state object in
   its bucket already?
2. Yes: synthesize with the S3 backend, `init`, `plan`; apply the plan if it has changes, else say "no changes".
3. No: synthesize with the local backend (state in .state/video-pipeline/account/terraform.tfstate), `init`,
   `apply`; synthesize again with the S3 backend and `terraform init -migrate-state -force-copy` (Terraform copies the
   local state into the bucket); check the object is there with the same resources, then delete the local copy.

Any step may fail and the command be run again: an interrupted apply goes on from the local state, and a state already
copied into the bucket is found there (the local copy, if it holds the same resources, is then removed).

Environment: the usual AWS credential chain and AWS_ENDPOINT_URL (Terraform and boto3 both read them), TF_PLUGIN_DIR
(the provider mirror, passed as `-plugin-dir`; else Terraform's own CLI configuration), VP_CONFIG (settings file).
TF_BACKEND, TF_STATE_BUCKET and TF_STATE_REGION do not apply: the account stack's state lives in its own bucket.
Working files: .bootstrap/ (the synthesized stack, Terraform's data folder; git-ignored).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config.naming import InvalidSuffix
from config.settings import AccountSettings, ConfigError, load_account
from main import LOCAL_STATE_DIR, ROOT, log, synthesize
from synth.output import OutputFolderError, check_output_folder
from synth.terraform_cli import terraform

WORK_DIR = ROOT / ".bootstrap"
PLAN = "bootstrap.tfplan"


class BootstrapError(RuntimeError):
    """A step that failed; the message says which and what to look at. Running the command again resumes."""


class Bootstrap:
    def __init__(self, account: AccountSettings, outdir: Path, environ: Mapping[str, str]) -> None:
        self.account, self.outdir = account, outdir
        self.stack_dir = outdir / "stacks" / account.names.stack
        self.local_state = LOCAL_STATE_DIR / account.names.state_key
        self.location = f"s3://{account.bucket}/{account.names.state_key}"
        # Terraform's data folder outside the output folder, which every synth replaces: `init -migrate-state`
        # must still know the local backend the first apply used.
        self.env = {
            **environ,
            "TF_DATA_DIR": str(WORK_DIR / "terraform.d"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
        plugin_dir = environ.get("TF_PLUGIN_DIR")
        self.init_args = ["init", "-input=false", *([f"-plugin-dir={plugin_dir}"] if plugin_dir else [])]
        self._s3: Any = None

    # --- what is there ----------------------------------------------------------------------------------------------
    def s3(self) -> Any:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3", region_name=self.account.region)
        return self._s3

    def _exists(self, call: str, **kwargs: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            getattr(self.s3(), call)(**kwargs)
            return True
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
                return False
            raise BootstrapError(
                f"{self.location}: S3 answered {code or status} to {call}: is the bucket name taken by another "
                "account (set account.state_bucket), or do these credentials lack s3:GetObject/s3:ListBucket?"
            ) from None
        except BotoCoreError as error:
            raise BootstrapError(f"{self.location}: cannot ask S3 ({error})") from None

    def state_in_bucket(self) -> bool:
        return self._exists("head_object", Bucket=self.account.bucket, Key=self.account.names.state_key)

    def bucket_exists(self) -> bool:
        return self._exists("head_bucket", Bucket=self.account.bucket)

    # --- steps ------------------------------------------------------------------------------------------------------
    def synth(self, backend: str) -> None:
        log(f"bootstrap: synthesizing {self.account.names.stack} with the {backend} backend")
        synthesize([], self.outdir, backend, account=self.account)

    def terraform(self, *args: str, ok: tuple[int, ...] = (0,), echo: bool = True) -> tuple[int, str]:
        """Run Terraform in the stack folder: its exit code and output, shown on stderr as it comes unless `echo` is
        off (`state pull`). stdout stays free, as in main.py."""
        log(f"bootstrap: terraform {' '.join(args)}")
        code, output = terraform(*args, cwd=self.stack_dir, env=self.env, echo=echo)
        if code not in ok:
            raise BootstrapError(f"`terraform {' '.join(args)}` in {self.stack_dir} exited {code}")
        return code, output

    def pulled_state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.terraform("state", "pull", echo=False)[1])
        return state

    def run(self) -> None:
        if self.state_in_bucket():
            log(f"bootstrap: {self.location} exists: updating the account stack with the S3 backend")
            self.synth("s3")
            self.terraform(*self.init_args, "-reconfigure")
            code, _ = self.terraform("plan", "-input=false", "-detailed-exitcode", f"-out={PLAN}", ok=(0, 2))
            if code == 0:
                log("bootstrap: no changes: the account stack is up to date")
            else:
                self.terraform("apply", "-input=false", PLAN)
            self.forget_local_copy()
            return
        if not self.local_state.is_file() and self.bucket_exists():
            raise BootstrapError(
                f"the bucket {self.account.bucket} exists, but neither {self.location} nor a local state "
                f"{self.local_state}: an earlier bootstrap's state was lost. Import the account stack's resources "
                "(terraform import) or restore the state file before running this again"
            )
        log(f"bootstrap: {self.location} does not exist yet: first apply with local state ({self.local_state})")
        self.synth("local")
        self.terraform(*self.init_args, "-reconfigure")
        self.terraform("apply", "-input=false", "-auto-approve")
        log(f"bootstrap: moving the state into {self.location}")
        self.synth("s3")
        self.terraform(*self.init_args, "-migrate-state", "-force-copy")
        if not self.state_in_bucket():
            raise BootstrapError(f"{self.location} is still missing after `terraform init -migrate-state`")
        self.forget_local_copy()

    def forget_local_copy(self) -> None:
        """Delete the local state once the bucket's holds the same resources (Terraform's migration gives the copy a
        new lineage and serial, so the resources are compared: address and id of every instance)."""
        if not self.local_state.is_file():
            return
        local = inventory(json.loads(self.local_state.read_text(encoding="utf-8")))
        remote = inventory(self.pulled_state())
        if local != remote:
            raise BootstrapError(
                f"{self.local_state} holds other resources than {self.location} (local only: "
                f"{sorted(local - remote)}; bucket only: {sorted(remote - local)}): compare the two, keep the right "
                "one in the bucket and delete the local file"
            )
        for path in (self.local_state, self.local_state.with_name(self.local_state.name + ".backup")):
            path.unlink(missing_ok=True)
        log(f"bootstrap: {self.location} holds the state; deleted the local copy {self.local_state}")


def inventory(state: dict[str, Any]) -> set[tuple[str, str]]:
    """(address, id) of every managed resource instance of a state file."""
    return {
        (f"{r['type']}.{r['name']}", str(instance.get("attributes", {}).get("id")))
        for r in state.get("resources", [])
        if r.get("mode") == "managed"
        for instance in r.get("instances", [])
    }


def main(environ: Mapping[str, str]) -> int:
    try:
        account = load_account(environ=environ)
        outdir = check_output_folder(str(WORK_DIR / "cdktf.out"), protected=[ROOT], state_dir=LOCAL_STATE_DIR)
    except (ConfigError, InvalidSuffix, OutputFolderError) as error:
        log(f"error: {error}")
        log("nothing was done")
        return 2
    log(f"bootstrap: account {account.account_id}, region {account.region}, state bucket {account.bucket}")
    try:
        Bootstrap(account, outdir, environ).run()
    except BootstrapError as error:
        log(f"error: {error}")
        log("bootstrap stopped; run it again once the cause is fixed (every step can be repeated)")
        return 1
    log(f"bootstrap: done; every stack's state goes to s3://{account.bucket} under {account.state_key_alias_arn}")
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ))
