"""The embedded Celery broker: kombu's filesystem transport, made safe across processes.

kombu creates the message file and then writes it; a consumer polling the folder in between
can take the empty file. Here a message is written under a name the consumer ignores and
renamed into place, so it appears whole or not at all (rename is atomic on one filesystem).
"""
import os
import uuid
from queue import Empty
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for folder in (self.data_folder_in, self.data_folder_out, self.processed_folder):
            os.makedirs(folder, exist_ok=True)

    def _put(self, queue, payload, **kwargs):
        name = "{}_{}.{}.msg".format(int(round(monotonic() * 1000)), uuid.uuid4(), queue)
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, "." + name + ".part")
        with open(partial, "wb") as f:
            f.write(str_to_bytes(dumps(payload)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, final)

    def _get(self, queue):
        # Claim a message by renaming it into processed_folder: of two consumers racing for one
        # file exactly one rename succeeds. (kombu moves it to the system temp dir, which may be
        # another filesystem, where a move is a copy.)
        suffix = f".{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.startswith(".") or not name.endswith(suffix) or name.partition(".")[2] != suffix[1:]:
                continue
            claimed = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue
            with open(claimed, "rb") as f:
                payload = f.read()
            os.remove(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
