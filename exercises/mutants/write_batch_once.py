"""Wrong answers to exercise 14 `write_batch_once`, one requirement broken in each."""


def appends(df, batch_id, folder):
    """Breaks "replay": appends every call, so a replayed batch is written twice."""
    df.write.mode("append").parquet(folder)


def overwrites_everything(df, batch_id, folder):
    """Breaks "adds": each batch overwrites the whole output, so only the last batch is left."""
    df.write.mode("overwrite").parquet(folder)


def beside_the_folder(df, batch_id, folder):
    """Breaks "readable": each batch in a sibling folder of its own, so the folder itself holds nothing."""
    df.write.mode("overwrite").parquet(f"{folder}_batch{batch_id}")


MUTANTS = [("replay", appends), ("adds", overwrites_everything), ("readable", beside_the_folder)]
