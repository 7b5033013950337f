# Sourced by tests/demo/demo.sh (and by its test): save the web nodes' files before the demo and put them
# back after it. Works on a lab that has never been used, where a node has only applicationHost.config:
# a file that was not there before the demo is removed afterwards. Needs $LAB_DIR and $saved.
nodes=(SERVER1 SERVER2 ARR1 CONTENT1 CONTENT2)
files=(applicationHost.config runtime.json applied_policy.json)

save_nodes() {
  rm -rf "$saved"; mkdir -p "$saved"
  for node in "${nodes[@]}"; do
    dir="$LAB_DIR/nodes/${node,,}"; mkdir -p "$saved/${node,,}"
    for f in "${files[@]}"; do
      # A node that never ran a change has no runtime.json / applied_policy.json yet: nothing to save.
      if [ -f "$dir/$f" ]; then cp -p "$dir/$f" "$saved/${node,,}/$f"; fi
    done
  done
}

restore_nodes() {
  for node in "${nodes[@]}"; do
    dir="$LAB_DIR/nodes/${node,,}"
    for f in "${files[@]}"; do
      if [ -f "$saved/${node,,}/$f" ]; then
        cp -p "$saved/${node,,}/$f" "$dir/$f.demo"
        mv "$dir/$f.demo" "$dir/$f"
      else
        rm -f "$dir/$f"
      fi
    done
  done
}
