# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_nodeprep_global_optspecs
    string join \n root= o/output= q/quiet no-color module= sysctl= scheduler= kube-proxy-version= kube-proxy-runtime= kernel-release= mode= kube-proxy-config= ignore= without= h/help V/version
end

function __fish_nodeprep_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_nodeprep_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_nodeprep_using_subcommand
    set -l cmd (__fish_nodeprep_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c nodeprep -n "__fish_nodeprep_needs_command" -l root -d 'Treat DIR as the node\'s / (a chroot): every path read or written is resolved inside it, links included, and every helper program is the root\'s own, run chrooted and sandboxed in it; a DIR whose /proc is not the running kernel\'s procfs with that kernel\'s modules is an image, judged as it will boot, and none of its programs runs' -r -F
complete -c nodeprep -n "__fish_nodeprep_needs_command" -s o -l output -d 'Report format' -r -f -a "text\t''
json\t''
prometheus\t'Prometheus text exposition, for node_exporter\'s textfile collector'"
complete -c nodeprep -n "__fish_nodeprep_needs_command" -l module -d 'Add a kernel module to the wanted set (repeatable), e.g. --module ip_vs_lc' -r
complete -c nodeprep -n "__fish_nodeprep_needs_command" -l sysctl -d 'Add or override a wanted sysctl (repeatable), e.g. --sysctl net.ipv4.conf.all.arp_ignore=1' -r
complete -c nodeprep -n "__fish_nodeprep_needs_command" -l scheduler -d 'IPVS scheduler kube-proxy is configured with; its module ip_vs_NAME is wanted too' -r
complete -c nodeprep -n "__fish_nodeprep_needs_command" -l kube-proxy-version -d 'kube-proxy version to judge for (X.Y or X.Y.Z); default: asked of kube-proxy, kubelet or kubeadm under the root, else the newest behaviour' -r
complete -c nodeprep -n "__fish_nodeprep_needs_command" -l kube-proxy-runtime -d 'How kube-proxy runs: decides whose ipset counts and whose modprobe.d applies to its own module loads' -r -f -a "container\t'kubeadm\'s DaemonSet: the image\'s own ipset and modprobe'
host\t'a systemd unit on the host: the host\'s ipset and modprobe.d'"
complete -c nodeprep -n "__fish_nodeprep_needs_command" -l kernel-release -d 'For an image root: the kernel to judge for, when /lib/modules holds several' -r
complete -c nodeprep -n "__fish_nodeprep_needs_command" -l mode -d 'Proxy mode to prepare and judge for; overrides the config\'s mode. Default: the mode of --kube-proxy-config (blank means iptables), else ipvs' -r -f -a "ipvs\t''
nftables\t''
iptables\t''"
complete -c nodeprep -n "__fish_nodeprep_needs_command" -l kube-proxy-config -d 'Read mode, featureGates, ipvs.scheduler and ipvs.strictARP from a KubeProxyConfiguration (plain, kubeadm multi-document, or the output of kubectl -n kube-system get cm kube-proxy -o yaml). FILE is read on this machine, not under --root; root:PATH reads PATH under --root (e.g. root:/var/lib/kube-proxy/config.conf); - reads standard input. A kubeadm config\'s kubernetesVersion is the version judged when no binary on the node tells it' -r -F
complete -c nodeprep -n "__fish_nodeprep_needs_command" -l ignore -d 'Turn the named errors into warnings (finding ids such as SysctlBoot-vm.swappiness, comma-separated or repeated, or all), like kubeadm\'s --ignore-preflight-errors; the exit code follows' -r
complete -c nodeprep -n "__fish_nodeprep_needs_command" -l without -d 'Drop a default module or sysctl from the wanted set (repeatable), e.g. --without vm.swappiness' -r
complete -c nodeprep -n "__fish_nodeprep_needs_command" -s q -l quiet -d 'Print only warnings and errors (text output); the exit code tells the rest'
complete -c nodeprep -n "__fish_nodeprep_needs_command" -l no-color -d 'Never colour the output (also when NO_COLOR is set and non-empty)'
complete -c nodeprep -n "__fish_nodeprep_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nodeprep -n "__fish_nodeprep_needs_command" -s V -l version -d 'Print version'
complete -c nodeprep -n "__fish_nodeprep_needs_command" -f -a "check" -d 'Report the node\'s state and kube-proxy\'s verdict; reads only, needs no root'
complete -c nodeprep -n "__fish_nodeprep_needs_command" -f -a "apply" -d 'Load the modules, persist them and the sysctls, set the live sysctls; idempotent'
complete -c nodeprep -n "__fish_nodeprep_needs_command" -f -a "watch" -d 'Check again and again (every --interval, and when a file of /etc/sysctl.d, /etc/modules-load.d, /etc/modprobe.d or /lib/modules changes), keep --textfile\'s metrics current, log each change of readiness; reports drift, never repairs it'
complete -c nodeprep -n "__fish_nodeprep_needs_command" -f -a "completion" -d 'Print the shell completion script for bash, zsh or fish (like kubectl completion SHELL)'
complete -c nodeprep -n "__fish_nodeprep_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l root -d 'Treat DIR as the node\'s / (a chroot): every path read or written is resolved inside it, links included, and every helper program is the root\'s own, run chrooted and sandboxed in it; a DIR whose /proc is not the running kernel\'s procfs with that kernel\'s modules is an image, judged as it will boot, and none of its programs runs' -r -F
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -s o -l output -d 'Report format' -r -f -a "text\t''
json\t''
prometheus\t'Prometheus text exposition, for node_exporter\'s textfile collector'"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l module -d 'Add a kernel module to the wanted set (repeatable), e.g. --module ip_vs_lc' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l sysctl -d 'Add or override a wanted sysctl (repeatable), e.g. --sysctl net.ipv4.conf.all.arp_ignore=1' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l scheduler -d 'IPVS scheduler kube-proxy is configured with; its module ip_vs_NAME is wanted too' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l kube-proxy-version -d 'kube-proxy version to judge for (X.Y or X.Y.Z); default: asked of kube-proxy, kubelet or kubeadm under the root, else the newest behaviour' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l kube-proxy-runtime -d 'How kube-proxy runs: decides whose ipset counts and whose modprobe.d applies to its own module loads' -r -f -a "container\t'kubeadm\'s DaemonSet: the image\'s own ipset and modprobe'
host\t'a systemd unit on the host: the host\'s ipset and modprobe.d'"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l kernel-release -d 'For an image root: the kernel to judge for, when /lib/modules holds several' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l mode -d 'Proxy mode to prepare and judge for; overrides the config\'s mode. Default: the mode of --kube-proxy-config (blank means iptables), else ipvs' -r -f -a "ipvs\t''
nftables\t''
iptables\t''"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l kube-proxy-config -d 'Read mode, featureGates, ipvs.scheduler and ipvs.strictARP from a KubeProxyConfiguration (plain, kubeadm multi-document, or the output of kubectl -n kube-system get cm kube-proxy -o yaml). FILE is read on this machine, not under --root; root:PATH reads PATH under --root (e.g. root:/var/lib/kube-proxy/config.conf); - reads standard input. A kubeadm config\'s kubernetesVersion is the version judged when no binary on the node tells it' -r -F
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l ignore -d 'Turn the named errors into warnings (finding ids such as SysctlBoot-vm.swappiness, comma-separated or repeated, or all), like kubeadm\'s --ignore-preflight-errors; the exit code follows' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l without -d 'Drop a default module or sysctl from the wanted set (repeatable), e.g. --without vm.swappiness' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l probe -d 'Also ask the real kernel (root, real / only). IPVS mode, as kube-proxy 1.27 and later does: add the dummy virtual server 198.51.100.0:20000/TCP with the scheduler via ipvsadm, list, delete it. nftables mode: in a throwaway network namespace, load a scratch table per IP family with the statement shapes kube-proxy\'s rules use, with the node\'s nft, and delete it; what the kernel refuses decides the verdict'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -s q -l quiet -d 'Print only warnings and errors (text output); the exit code tells the rest'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -l no-color -d 'Never colour the output (also when NO_COLOR is set and non-empty)'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l root -d 'Treat DIR as the node\'s / (a chroot): every path read or written is resolved inside it, links included, and every helper program is the root\'s own, run chrooted and sandboxed in it; a DIR whose /proc is not the running kernel\'s procfs with that kernel\'s modules is an image, judged as it will boot, and none of its programs runs' -r -F
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -s o -l output -d 'Report format' -r -f -a "text\t''
json\t''
prometheus\t'Prometheus text exposition, for node_exporter\'s textfile collector'"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l module -d 'Add a kernel module to the wanted set (repeatable), e.g. --module ip_vs_lc' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l sysctl -d 'Add or override a wanted sysctl (repeatable), e.g. --sysctl net.ipv4.conf.all.arp_ignore=1' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l scheduler -d 'IPVS scheduler kube-proxy is configured with; its module ip_vs_NAME is wanted too' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l kube-proxy-version -d 'kube-proxy version to judge for (X.Y or X.Y.Z); default: asked of kube-proxy, kubelet or kubeadm under the root, else the newest behaviour' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l kube-proxy-runtime -d 'How kube-proxy runs: decides whose ipset counts and whose modprobe.d applies to its own module loads' -r -f -a "container\t'kubeadm\'s DaemonSet: the image\'s own ipset and modprobe'
host\t'a systemd unit on the host: the host\'s ipset and modprobe.d'"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l kernel-release -d 'For an image root: the kernel to judge for, when /lib/modules holds several' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l mode -d 'Proxy mode to prepare and judge for; overrides the config\'s mode. Default: the mode of --kube-proxy-config (blank means iptables), else ipvs' -r -f -a "ipvs\t''
nftables\t''
iptables\t''"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l kube-proxy-config -d 'Read mode, featureGates, ipvs.scheduler and ipvs.strictARP from a KubeProxyConfiguration (plain, kubeadm multi-document, or the output of kubectl -n kube-system get cm kube-proxy -o yaml). FILE is read on this machine, not under --root; root:PATH reads PATH under --root (e.g. root:/var/lib/kube-proxy/config.conf); - reads standard input. A kubeadm config\'s kubernetesVersion is the version judged when no binary on the node tells it' -r -F
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l ignore -d 'Turn the named errors into warnings (finding ids such as SysctlBoot-vm.swappiness, comma-separated or repeated, or all), like kubeadm\'s --ignore-preflight-errors; the exit code follows' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l without -d 'Drop a default module or sysctl from the wanted set (repeatable), e.g. --without vm.swappiness' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l dry-run -d 'Print what would be done, with a diff of each file, and change nothing'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l detailed-exitcode -d 'Exit 2 when changes were made (or, with --dry-run, would be made) and the node is ready'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l ok-if-not-ready -d 'Exit 0, not 1, when apply did all it could and the node is still not ready: a DaemonSet\'s init container, whose pod\'s readiness probe then shows the node\'s state instead of a crash loop. 3 and 64 still fail'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -s q -l quiet -d 'Print only warnings and errors (text output); the exit code tells the rest'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -l no-color -d 'Never colour the output (also when NO_COLOR is set and non-empty)'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l interval -d 'How long between two checks when nothing changes: a number and s, m or h (or ms)' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l textfile -d 'Write the Prometheus metrics (as check -o prometheus) to FILE after every check, atomically: node_exporter\'s textfile collector directory. A path of this machine, not under --root' -r -F
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l count -d 'Stop after N checks (exit 0); default: until SIGTERM or SIGINT, which end it with 0' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l root -d 'Treat DIR as the node\'s / (a chroot): every path read or written is resolved inside it, links included, and every helper program is the root\'s own, run chrooted and sandboxed in it; a DIR whose /proc is not the running kernel\'s procfs with that kernel\'s modules is an image, judged as it will boot, and none of its programs runs' -r -F
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -s o -l output -d 'Report format' -r -f -a "text\t''
json\t''
prometheus\t'Prometheus text exposition, for node_exporter\'s textfile collector'"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l module -d 'Add a kernel module to the wanted set (repeatable), e.g. --module ip_vs_lc' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l sysctl -d 'Add or override a wanted sysctl (repeatable), e.g. --sysctl net.ipv4.conf.all.arp_ignore=1' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l scheduler -d 'IPVS scheduler kube-proxy is configured with; its module ip_vs_NAME is wanted too' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l kube-proxy-version -d 'kube-proxy version to judge for (X.Y or X.Y.Z); default: asked of kube-proxy, kubelet or kubeadm under the root, else the newest behaviour' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l kube-proxy-runtime -d 'How kube-proxy runs: decides whose ipset counts and whose modprobe.d applies to its own module loads' -r -f -a "container\t'kubeadm\'s DaemonSet: the image\'s own ipset and modprobe'
host\t'a systemd unit on the host: the host\'s ipset and modprobe.d'"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l kernel-release -d 'For an image root: the kernel to judge for, when /lib/modules holds several' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l mode -d 'Proxy mode to prepare and judge for; overrides the config\'s mode. Default: the mode of --kube-proxy-config (blank means iptables), else ipvs' -r -f -a "ipvs\t''
nftables\t''
iptables\t''"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l kube-proxy-config -d 'Read mode, featureGates, ipvs.scheduler and ipvs.strictARP from a KubeProxyConfiguration (plain, kubeadm multi-document, or the output of kubectl -n kube-system get cm kube-proxy -o yaml). FILE is read on this machine, not under --root; root:PATH reads PATH under --root (e.g. root:/var/lib/kube-proxy/config.conf); - reads standard input. A kubeadm config\'s kubernetesVersion is the version judged when no binary on the node tells it' -r -F
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l ignore -d 'Turn the named errors into warnings (finding ids such as SysctlBoot-vm.swappiness, comma-separated or repeated, or all), like kubeadm\'s --ignore-preflight-errors; the exit code follows' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l without -d 'Drop a default module or sysctl from the wanted set (repeatable), e.g. --without vm.swappiness' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -s q -l quiet -d 'Print only warnings and errors (text output); the exit code tells the rest'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -l no-color -d 'Never colour the output (also when NO_COLOR is set and non-empty)'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l root -d 'Treat DIR as the node\'s / (a chroot): every path read or written is resolved inside it, links included, and every helper program is the root\'s own, run chrooted and sandboxed in it; a DIR whose /proc is not the running kernel\'s procfs with that kernel\'s modules is an image, judged as it will boot, and none of its programs runs' -r -F
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -s o -l output -d 'Report format' -r -f -a "text\t''
json\t''
prometheus\t'Prometheus text exposition, for node_exporter\'s textfile collector'"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l module -d 'Add a kernel module to the wanted set (repeatable), e.g. --module ip_vs_lc' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l sysctl -d 'Add or override a wanted sysctl (repeatable), e.g. --sysctl net.ipv4.conf.all.arp_ignore=1' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l scheduler -d 'IPVS scheduler kube-proxy is configured with; its module ip_vs_NAME is wanted too' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l kube-proxy-version -d 'kube-proxy version to judge for (X.Y or X.Y.Z); default: asked of kube-proxy, kubelet or kubeadm under the root, else the newest behaviour' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l kube-proxy-runtime -d 'How kube-proxy runs: decides whose ipset counts and whose modprobe.d applies to its own module loads' -r -f -a "container\t'kubeadm\'s DaemonSet: the image\'s own ipset and modprobe'
host\t'a systemd unit on the host: the host\'s ipset and modprobe.d'"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l kernel-release -d 'For an image root: the kernel to judge for, when /lib/modules holds several' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l mode -d 'Proxy mode to prepare and judge for; overrides the config\'s mode. Default: the mode of --kube-proxy-config (blank means iptables), else ipvs' -r -f -a "ipvs\t''
nftables\t''
iptables\t''"
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l kube-proxy-config -d 'Read mode, featureGates, ipvs.scheduler and ipvs.strictARP from a KubeProxyConfiguration (plain, kubeadm multi-document, or the output of kubectl -n kube-system get cm kube-proxy -o yaml). FILE is read on this machine, not under --root; root:PATH reads PATH under --root (e.g. root:/var/lib/kube-proxy/config.conf); - reads standard input. A kubeadm config\'s kubernetesVersion is the version judged when no binary on the node tells it' -r -F
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l ignore -d 'Turn the named errors into warnings (finding ids such as SysctlBoot-vm.swappiness, comma-separated or repeated, or all), like kubeadm\'s --ignore-preflight-errors; the exit code follows' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l without -d 'Drop a default module or sysctl from the wanted set (repeatable), e.g. --without vm.swappiness' -r
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -s q -l quiet -d 'Print only warnings and errors (text output); the exit code tells the rest'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -l no-color -d 'Never colour the output (also when NO_COLOR is set and non-empty)'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand completion" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand help; and not __fish_seen_subcommand_from check apply watch completion help" -f -a "check" -d 'Report the node\'s state and kube-proxy\'s verdict; reads only, needs no root'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand help; and not __fish_seen_subcommand_from check apply watch completion help" -f -a "apply" -d 'Load the modules, persist them and the sysctls, set the live sysctls; idempotent'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand help; and not __fish_seen_subcommand_from check apply watch completion help" -f -a "watch" -d 'Check again and again (every --interval, and when a file of /etc/sysctl.d, /etc/modules-load.d, /etc/modprobe.d or /lib/modules changes), keep --textfile\'s metrics current, log each change of readiness; reports drift, never repairs it'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand help; and not __fish_seen_subcommand_from check apply watch completion help" -f -a "completion" -d 'Print the shell completion script for bash, zsh or fish (like kubectl completion SHELL)'
complete -c nodeprep -n "__fish_nodeprep_using_subcommand help; and not __fish_seen_subcommand_from check apply watch completion help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
