"""The adaptive rounds between finetuning and the tables: the rules (racing: adaptive baseline
seeds and racing), the round jobs that apply them to the cells so far (jobs), and the simulator
that replays them on the reference's published results (simulate, published, synthetic)."""
